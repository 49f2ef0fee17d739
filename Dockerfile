# syntax=docker/dockerfile:1
# The ElasticWeb operator image. The build stage strips the TypeScript types into dist/ (plain
# JavaScript: running .ts directly would load Node's type stripper, about 30 MiB of resident memory)
# and bundles the entry point into one file (hack/build/bundle.ts: 7 MiB less resident memory than
# ~150 modules), then compiles the malloc_trim addon (hack/build/native.ts); the deps stage installs
# production dependencies only.
#
# The base images are build arguments, defaulting to the public ones, so that a machine with no
# registry can supply its own: `make docker-build` without a Docker engine builds with buildah and
# passes a local base (Debian + the Node 24 binary of the npm package `node` + npm, with /nodejs/bin/node
# and user 65532 where distroless has them; hack/cluster/real-node/operator-image.ts).
ARG BUILD_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

FROM ${BUILD_IMAGE} AS build
# A C compiler for the one native addon, glibc's malloc_trim (src/native/malloc-trim.c says why);
# only this stage has it, the image gets the compiled file.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
COPY hack/build ./hack/build
RUN npm run build

FROM ${BUILD_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev leaves out TypeScript, biome, the test tools and the `node` package (the base has Node 24).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${RUNTIME_IMAGE}
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER 65532:65532
ENV NODE_ENV=production
# Two malloc arenas instead of glibc's default of up to 8 per core: V8's helper threads and libuv's
# then share one, so memory freed after a burst of work is not spread over arenas that each keep
# their own. Restarted on 1,000 ElasticWebs, settled RSS 83.6 MiB (81.6-85.7) against 91.1
# (86.1-93.7) by default; idle with one ElasticWeb 67.9 against 68.6 MiB (3 rounds each, rotated,
# 2026-12-02, tmp probe on the bench's own scenarios). The benchmark and the tests read this line too.
ENV MALLOC_ARENA_MAX=2
# A bounded young generation: the V8 default grows it large during a big list and keeps it (4,000
# ElasticWebs: 289 MiB resident by default, 156 MiB with 2 MiB semi-spaces), while 2 MiB spends more
# time collecting garbage (10,000: restart 2.04 s / 230 MiB with 2, 1.62 s / 256 MiB with 16, in the
# benchmark). 8 MiB keeps most of 16's speed for less memory (2026-12-01, one machine, after a
# 1,000-object burst: 118 MiB with 8, 134 with 16, 106 with 4; restart at 10,000: 215 MiB with 8,
# 238-269 with 16, restart times 3.2-4.5 s for each, inside the noise). The benchmark and the tests
# start the operator with these same node flags, read from this line (hack/entrypoint.ts).
# --expose-gc lets the runtime run one memory-reducing collection when the operator goes quiet after
# work (src/runtime/memory/idle-release.ts says why V8 does not do it itself in Node): restarted on
# 1,000 ElasticWebs, settled RSS 125-126 MiB without it, 100-101 with it (2 runs each, 2026-12-02).
# --max-opt=2 stops V8 at Maglev, its mid-tier compiler, without TurboFan: TurboFan's own code (about
# 5 MiB of the node binary, paged in at its first compile) and the code it makes stay out of memory.
# Restarted on 1,000 ElasticWebs, settled RSS 82.9, 80.4, 84.4 MiB against 91.2, 90.5, 90.6 by default;
# on 10,000 + 10,000 unrelated 145 against 152-160, restart 4.3-5.1 s against 4.0-5.4; operator CPU for a
# 1,000-ElasticWeb burst 3.51-4.44 s against 4.87-4.91 (3 ABBA rounds, 2026-12-03, bench/README.md).
# --max-opt=1 (no Maglev either) was lower still (74 MiB at 1,000) but cost 20% more burst CPU.
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=8", "--max-opt=2", "--expose-gc", "dist/cmd/elasticweb-operator.js"]
