/**
 * node hack/build/bundle.ts [dist]
 *
 * Makes the operator's entry point one file: after `tsc` has stripped the types into dist/, esbuild
 * bundles src/cmd/elasticweb-operator.ts with the libraries it always loads into
 * dist/cmd/elasticweb-operator.js, the script the image runs.
 *
 * Why: Node's module loader costs memory for every module it loads (its own code pages, and a record
 * and a source string per module). One file instead of about 150 took an idle operator from
 * 77.4-78.0 to 69.0-69.5 MiB resident (one ElasticWeb, same flags, /proc/<pid>/status; README.md,
 * "The image").
 *
 * Left out of the bundle, loaded from node_modules only when used:
 *  - @kubernetes/client-node: only for exec credential plugins (rest-config.ts);
 *  - pino-pretty: only for --log-format=text (logger.ts);
 *  - yaml: only if the throwaway process below cannot run (rest-config.ts).
 * The kubeconfig YAML reader, which rest-config.ts runs in a throwaway process beside its own file,
 * is bundled beside the entry point, with the YAML parser inside it.
 */
import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import { type BuildOptions, build, type Plugin } from 'esbuild';

const root = join(import.meta.dirname, '..', '..');
const dist = process.argv[2] ?? join(root, 'dist');

/**
 * Node's own modules reached through require(), never through an ES module import.
 *
 * Why: importing a built-in CommonJS module builds its namespace by reading every export, and
 * node:http's exports include lazy getters (WebSocket, CloseEvent, MessageEvent) that load Node's
 * own copy of undici, and with it http2, zlib and web streams. That costs 8.4 MiB resident for the
 * life of the process: `import 'node:https'; import 'node:http'` settles at 58.0 MiB, the same two
 * require() calls at 49.5 (node 24.21, --max-semi-space-size=8, 3 runs each, identical). require()
 * returns the exports object and reads none of them.
 */
const builtinsByRequire: Plugin = {
  name: 'builtins-by-require',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) =>
      args.kind === 'import-statement' && isBuiltin(args.path)
        ? { path: args.path, namespace: 'builtin-by-require' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'builtin-by-require' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

const common: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  // CommonJS libraries inside an ES module bundle call require() for Node's own modules.
  banner: {
    js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);",
  },
  logLevel: 'warning',
  legalComments: 'none',
  plugins: [builtinsByRequire],
};

await build({
  ...common,
  entryPoints: [join(root, 'src/cmd/elasticweb-operator.ts')],
  outfile: join(dist, 'cmd/elasticweb-operator.js'),
  allowOverwrite: true,
  external: ['@kubernetes/client-node', 'pino-pretty', 'yaml'],
});
await build({
  ...common,
  entryPoints: [join(root, 'src/runtime/client/kubeconfig-yaml.ts')],
  outfile: join(dist, 'cmd/kubeconfig-yaml.js'),
  allowOverwrite: true,
});
