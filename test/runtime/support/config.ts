/**
 * Small things every runtime test needs: a RestConfig pointing at a scripted server, a logger that
 * keeps what was logged, and objects shaped like the API server's.
 */
import { Writable } from 'node:stream';
import type { RestConfig } from '../../../src/runtime/client/rest-config.ts';
import { createLogger, type Logger } from '../../../src/runtime/log/logger.ts';

/** A RestConfig for `url` with fixed TLS material and an optional fixed bearer token. */
export function restConfig(url: string, options: { ca?: string; token?: string } = {}): RestConfig {
  const tls = options.ca ? { ca: options.ca } : {};
  return {
    server: url,
    namespace: 'default',
    source: 'test',
    tls: async () => tls,
    authorization: async () => (options.token ? `Bearer ${options.token}` : undefined),
  };
}

/** A logger whose entries are kept (parsed) in `entries`. */
export function captureLog(): { log: Logger; entries: Record<string, unknown>[] } {
  const entries: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) entries.push(JSON.parse(line));
      done();
    },
  });
  return { log: createLogger({ level: 'debug', destination }), entries };
}

/** A logger that says nothing. */
export const silentLog: Logger = createLogger({ level: 'silent' });

/** A ConfigMap as the API server returns it: enough metadata for caches and keys. */
export function configMap(
  name: string,
  resourceVersion: string,
  data: Record<string, string> = {},
  namespace = 'default',
): {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; uid: string; resourceVersion: string };
  data: Record<string, string>;
} {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, uid: `uid-${name}`, resourceVersion },
    data,
  };
}

/** A list response body, as the API server pages it. */
export function listBody(items: unknown[], resourceVersion: string, continueToken?: string): unknown {
  return {
    kind: 'List',
    apiVersion: 'v1',
    metadata: { resourceVersion, ...(continueToken ? { continue: continueToken } : {}) },
    items,
  };
}

export const configMaps = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  namespaced: true,
} as const;
