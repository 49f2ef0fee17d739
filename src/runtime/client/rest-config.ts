/**
 * Where the API server is and how to authenticate, from the usual kubeconfig rules:
 * --kubeconfig, then $KUBECONFIG (a list of files, merged: the first definition of a name wins),
 * then ~/.kube/config, then the in-cluster ServiceAccount.
 *
 * Certificates, tokens, token files (re-read as they rotate), basic auth and the in-cluster
 * ServiceAccount are read here directly. Exec plugins and auth providers are handed to
 * @kubernetes/client-node, loaded only then: the library costs about 85 MiB of resident memory,
 * more than the rest of the operator, for credentials most operators never use.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';

export interface TlsOptions {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  rejectUnauthorized?: boolean;
  servername?: string;
}

export interface RestConfig {
  /** Base URL of the API server, e.g. https://127.0.0.1:6443 */
  readonly server: string;
  readonly tls: TlsOptions;
  /** The namespace of the current context (or the pod's, in a cluster), if any. */
  readonly namespace: string | undefined;
  /** Where the configuration came from, for the start-up log. */
  readonly source: string;
  /**
   * The Authorization header value, if the credential uses one. Cached for a minute (token files
   * rotate); `refresh` asks again at once, as after a 401.
   */
  authorization(refresh?: boolean): Promise<string | undefined>;
}

const authorizationTtlMs = 60_000;
const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

interface NamedCluster {
  server: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
  'proxy-url'?: string;
}
interface NamedUser {
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  token?: string;
  tokenFile?: string;
  username?: string;
  password?: string;
  exec?: unknown;
  'auth-provider'?: unknown;
}
interface KubeconfigFile {
  clusters?: { name: string; cluster: NamedCluster }[];
  users?: { name: string; user: NamedUser }[];
  contexts?: { name: string; context: { cluster: string; user: string; namespace?: string } }[];
  'current-context'?: string;
}

/** Loads the configuration; `kubeconfigPath` wins over $KUBECONFIG, ~/.kube/config and in-cluster. */
export async function loadRestConfig(
  kubeconfigPath?: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RestConfig> {
  // --kubeconfig falls back to $KUBECONFIG, which may list several files: merge them as kubectl does.
  if (kubeconfigPath) return fromFiles(kubeconfigPath.split(delimiter).filter((p) => p !== ''));
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter((p) => p !== '');
  if (listed.length > 0) return fromFiles(listed);
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return fromFiles([home]);
  if (env.KUBERNETES_SERVICE_HOST && existsSync(join(serviceAccountDir, 'token'))) {
    return inCluster(env.KUBERNETES_SERVICE_HOST, env.KUBERNETES_SERVICE_PORT ?? '443', serviceAccountDir);
  }
  throw new Error(
    'no kubeconfig: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, or run in a cluster',
  );
}

/** Reads and merges kubeconfig files (missing ones in a $KUBECONFIG list are skipped, as kubectl does). */
async function fromFiles(paths: string[]): Promise<RestConfig> {
  const merged: Required<Omit<KubeconfigFile, 'current-context'>> & { current?: string } = {
    clusters: [],
    users: [],
    contexts: [],
  };
  const origin = new Map<string, string>(); // entry -> file it came from, to resolve relative paths
  const existing = paths.filter((p) => existsSync(p));
  if (existing.length === 0) throw new Error(`kubeconfig not found: ${paths.join(delimiter)}`);
  // Loaded only here: in a cluster (the ServiceAccount) no YAML is read, and the parser costs ~9 MiB.
  const { parse } = await import('yaml');
  for (const path of existing) {
    const file = (parse(readFileSync(path, 'utf8')) ?? {}) as KubeconfigFile;
    merged.current ??= file['current-context'] || undefined;
    for (const [list, into, prefix] of [
      [file.clusters, merged.clusters, 'cluster'],
      [file.users, merged.users, 'user'],
      [file.contexts, merged.contexts, 'context'],
    ] as const) {
      for (const entry of list ?? []) {
        if ((into as { name: string }[]).some((e) => e.name === entry.name)) continue;
        (into as unknown[]).push(entry);
        origin.set(`${prefix}/${entry.name}`, dirname(path));
      }
    }
  }
  const source = existing.join(delimiter);
  const contextName = merged.current;
  const context = merged.contexts.find((c) => c.name === contextName)?.context;
  if (!context) throw new Error(`kubeconfig ${source}: current context "${contextName ?? ''}" not found`);
  const cluster = merged.clusters.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster?.server)
    throw new Error(`kubeconfig ${source}: cluster "${context.cluster}" not found or has no server`);
  const user = merged.users.find((u) => u.name === context.user)?.user ?? {};
  if (cluster['proxy-url']) throw new Error(`kubeconfig ${source}: proxy-url is not supported`);

  if (user.exec || user['auth-provider']) return viaClientNode(existing, source);

  const clusterDir = origin.get(`cluster/${context.cluster}`) ?? '.';
  const userDir = origin.get(`user/${context.user}`) ?? '.';
  const read = (data: string | undefined, file: string | undefined, dir: string) =>
    data
      ? Buffer.from(data, 'base64')
      : file
        ? readFileSync(isAbsolute(file) ? file : join(dir, file))
        : undefined;

  const tls: TlsOptions = {
    ca: read(cluster['certificate-authority-data'], cluster['certificate-authority'], clusterDir),
    cert: read(user['client-certificate-data'], user['client-certificate'], userDir),
    key: read(user['client-key-data'], user['client-key'], userDir),
    ...(cluster['insecure-skip-tls-verify'] ? { rejectUnauthorized: false } : {}),
    ...(cluster['tls-server-name'] ? { servername: cluster['tls-server-name'] } : {}),
  };
  let authorization: (refresh: boolean) => Promise<string | undefined>;
  if (user.token) {
    const header = `Bearer ${user.token}`;
    authorization = async () => header;
  } else if (user.tokenFile) {
    authorization = tokenFileAuthorization(
      isAbsolute(user.tokenFile) ? user.tokenFile : join(userDir, user.tokenFile),
    );
  } else if (user.username !== undefined && user.password !== undefined) {
    const header = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
    authorization = async () => header;
  } else {
    authorization = async () => undefined;
  }
  return {
    server: cluster.server.replace(/\/+$/, ''),
    tls,
    namespace: context.namespace,
    source,
    authorization: (refresh = false) => authorization(refresh),
  };
}

/** The in-cluster ServiceAccount: its CA, its rotating token, its namespace. */
export function inCluster(host: string, port: string, dir: string): RestConfig {
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const namespaceFile = join(dir, 'namespace');
  return {
    server: `https://${hostPart}:${port}`,
    tls: { ca: readFileSync(join(dir, 'ca.crt')) },
    namespace: existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8').trim() : undefined,
    source: 'in-cluster ServiceAccount',
    authorization: tokenFileAuthorization(join(dir, 'token')),
  };
}

/** A token file, re-read once a minute or when asked (kubelet rotates projected tokens). */
function tokenFileAuthorization(path: string): (refresh?: boolean) => Promise<string | undefined> {
  let cached: { value: string; at: number } | undefined;
  return async (refresh = false) => {
    if (refresh || !cached || Date.now() - cached.at > authorizationTtlMs) {
      cached = { value: `Bearer ${readFileSync(path, 'utf8').trim()}`, at: Date.now() };
    }
    return cached.value;
  };
}

/** Exec plugins and auth providers: let @kubernetes/client-node run them. */
async function viaClientNode(paths: string[], source: string): Promise<RestConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromFile(paths[0] as string);
  for (const more of paths.slice(1)) {
    const extra = new KubeConfig();
    extra.loadFromFile(more);
    kc.mergeConfig(extra, true);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`kubeconfig ${source} has no current cluster`);
  type HttpsOptions = { ca?: Buffer; cert?: Buffer; key?: Buffer; headers?: Record<string, string> };
  const ask = async (): Promise<HttpsOptions> => {
    const opts: HttpsOptions = {};
    await kc.applyToHTTPSOptions(opts as Parameters<typeof kc.applyToHTTPSOptions>[0]);
    return opts;
  };
  const first = await ask();
  let cached = { value: first.headers?.Authorization, at: Date.now() };
  return {
    server: cluster.server.replace(/\/+$/, ''),
    tls: {
      ca: first.ca,
      cert: first.cert,
      key: first.key,
      ...(cluster.skipTLSVerify ? { rejectUnauthorized: false } : {}),
      ...(cluster.tlsServerName ? { servername: cluster.tlsServerName } : {}),
    },
    namespace: kc.getContextObject(kc.getCurrentContext())?.namespace,
    source: `${source} (credential plugin)`,
    async authorization(refresh = false) {
      if (refresh || Date.now() - cached.at > authorizationTtlMs) {
        cached = { value: (await ask()).headers?.Authorization, at: Date.now() };
      }
      return cached.value;
    },
  };
}
