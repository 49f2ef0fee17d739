# syntax=docker/dockerfile:1
# The ElasticWeb operator image: Node 24 runs the TypeScript sources directly (type stripping), so
# there is no compile step; the first stage installs production dependencies only.

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev leaves out TypeScript, biome, the test tools and the `node` package (the base has Node 24).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM gcr.io/distroless/nodejs24-debian12:nonroot
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
USER 65532:65532
ENV NODE_ENV=production
ENTRYPOINT ["/nodejs/bin/node", "src/cmd/elasticweb-operator.ts"]
