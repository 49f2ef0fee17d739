/**
 * Where the API server is and how to authenticate, from the usual kubeconfig rules:
 * --kubeconfig, then $KUBECONFIG (a list of files, merged: the first definition of a name wins),
 * then ~/.kube/config, then the in-cluster ServiceAccount.
 *
 * Credentials rotate, so none is read only once: token files, client certificates, keys and CA files
 * are read again when asked after `refreshMs` (a minute) or at once after a 401 or a failed TLS
 * handshake (`refresh`), and the client rebuilds its connections when the TLS material changed.
 * Exec plugins and auth providers are handed to @kubernetes/client-node, loaded only then: the library
 * costs about 85 MiB of resident memory, more than the rest of the operator, for credentials most
 * operators never use.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, extname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Clock, realClock } from '../clock.ts';

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
  /** The namespace of the current context (or the pod's, in a cluster), if any. */
  readonly namespace: string | undefined;
  /** Where the configuration came from, for the start-up log. */
  readonly source: string;
  /** The kubeconfig's proxy-url, if any (else HTTPS_PROXY / NO_PROXY from the environment apply). */
  readonly proxyUrl?: string;
  /**
   * The TLS material. Returns the same object while nothing changed, so a caller can compare
   * identity to know when to rebuild its connections; `refresh` reads the sources again at once.
   */
  tls(refresh?: boolean): Promise<TlsOptions>;
  /**
   * The Authorization header value, if the credential uses one. Cached for a minute (token files
   * rotate); `refresh` asks again at once, as after a 401.
   */
  authorization(refresh?: boolean): Promise<string | undefined>;
}

const refreshMs = 60_000;
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
  clock: Clock = realClock,
): Promise<RestConfig> {
  // --kubeconfig falls back to $KUBECONFIG, which may list several files: merge them as kubectl does.
  if (kubeconfigPath)
    return fromFiles(
      kubeconfigPath.split(delimiter).filter((p) => p !== ''),
      clock,
    );
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter((p) => p !== '');
  if (listed.length > 0) return fromFiles(listed, clock);
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return fromFiles([home], clock);
  if (env.KUBERNETES_SERVICE_HOST && existsSync(join(serviceAccountDir, 'token'))) {
    return inCluster(
      env.KUBERNETES_SERVICE_HOST,
      env.KUBERNETES_SERVICE_PORT ?? '443',
      serviceAccountDir,
      clock,
    );
  }
  throw new Error(
    'no kubeconfig: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, or run in a cluster',
  );
}

/** Reads and merges kubeconfig files (missing ones in a $KUBECONFIG list are skipped, as kubectl does). */
async function fromFiles(paths: string[], clock: Clock): Promise<RestConfig> {
  const merged: Required<Omit<KubeconfigFile, 'current-context'>> & { current?: string } = {
    clusters: [],
    users: [],
    contexts: [],
  };
  const origin = new Map<string, string>(); // entry -> file it came from, to resolve relative paths
  const existing = paths.filter((p) => existsSync(p));
  if (existing.length === 0) throw new Error(`kubeconfig not found: ${paths.join(delimiter)}`);
  const parsed = await parseKubeconfigs(existing);
  for (const [i, path] of existing.entries()) {
    const file = (parsed[i] ?? {}) as KubeconfigFile;
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
  const proxyUrl = cluster['proxy-url'] || undefined;

  if (user.exec || user['auth-provider']) return viaClientNode(existing, source, proxyUrl, clock);

  const clusterDir = origin.get(`cluster/${context.cluster}`) ?? '.';
  const userDir = origin.get(`user/${context.user}`) ?? '.';
  const source_ = (data: string | undefined, file: string | undefined, dir: string): Source | undefined =>
    data
      ? { data: Buffer.from(data, 'base64') }
      : file
        ? { file: isAbsolute(file) ? file : join(dir, file) }
        : undefined;

  const tls = reloadingTls(
    {
      ca: source_(cluster['certificate-authority-data'], cluster['certificate-authority'], clusterDir),
      cert: source_(user['client-certificate-data'], user['client-certificate'], userDir),
      key: source_(user['client-key-data'], user['client-key'], userDir),
    },
    {
      ...(cluster['insecure-skip-tls-verify'] ? { rejectUnauthorized: false } : {}),
      ...(cluster['tls-server-name'] ? { servername: cluster['tls-server-name'] } : {}),
    },
    clock,
  );
  let authorization: (refresh: boolean) => Promise<string | undefined>;
  if (user.token) {
    const header = `Bearer ${user.token}`;
    authorization = async () => header;
  } else if (user.tokenFile) {
    authorization = tokenFileAuthorization(
      isAbsolute(user.tokenFile) ? user.tokenFile : join(userDir, user.tokenFile),
      clock,
    );
  } else if (user.username !== undefined && user.password !== undefined) {
    const header = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
    authorization = async () => header;
  } else {
    authorization = async () => undefined;
  }
  await tls(); // fail now, with the file's name, rather than at the first request
  return {
    server: cluster.server.replace(/\/+$/, ''),
    namespace: context.namespace,
    source,
    ...(proxyUrl ? { proxyUrl } : {}),
    tls,
    authorization: (refresh = false) => authorization(refresh),
  };
}

/**
 * The files as objects. JSON (a valid kubeconfig too) is read here; YAML in a throwaway process
 * (kubeconfig-yaml.ts), so the YAML parser never stays in the operator's memory; if that process
 * cannot run, here after all.
 */
async function parseKubeconfigs(paths: string[]): Promise<unknown[]> {
  const texts = paths.map((p) => readFileSync(p, 'utf8'));
  try {
    return texts.map((t) => JSON.parse(t) as unknown);
  } catch {
    // YAML, as kubeconfigs mostly are
  }
  const script = fileURLToPath(
    new URL(`./kubeconfig-yaml${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
  );
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [script, ...paths], {
      maxBuffer: 16 << 20,
    });
    return JSON.parse(stdout) as unknown[];
  } catch {
    const { parse } = await import('yaml');
    return texts.map((t) => (parse(t) ?? {}) as unknown);
  }
}

/** The in-cluster ServiceAccount: its CA, its rotating token, its namespace. */
export function inCluster(host: string, port: string, dir: string, clock: Clock = realClock): RestConfig {
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const namespaceFile = join(dir, 'namespace');
  return {
    server: `https://${hostPart}:${port}`,
    // The CA bundle is a projected volume too: the kubelet updates it when the cluster's CA rotates.
    tls: reloadingTls({ ca: { file: join(dir, 'ca.crt') } }, {}, clock),
    namespace: existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8').trim() : undefined,
    source: 'in-cluster ServiceAccount',
    authorization: tokenFileAuthorization(join(dir, 'token'), clock),
  };
}

/** Inline data (never changes) or a file (read again to see whether it rotated). */
type Source = { data: Buffer } | { file: string };

/**
 * TLS options whose files are read again at most once a `refreshMs` (or when asked): the same object
 * comes back while no file changed, a new one when any did.
 */
function reloadingTls(
  sources: { ca?: Source; cert?: Source; key?: Source },
  fixed: Pick<TlsOptions, 'rejectUnauthorized' | 'servername'>,
  clock: Clock,
): (refresh?: boolean) => Promise<TlsOptions> {
  const read = (s: Source | undefined) =>
    s === undefined ? undefined : 'data' in s ? s.data : readFileSync(s.file);
  const load = (): TlsOptions => ({
    ca: read(sources.ca),
    cert: read(sources.cert),
    key: read(sources.key),
    ...fixed,
  });
  let current = load();
  let checkedAt = clock.now();
  const hasFiles = [sources.ca, sources.cert, sources.key].some((s) => s && 'file' in s);
  return async (refresh = false) => {
    if (!hasFiles || (!refresh && clock.now() - checkedAt < refreshMs)) return current;
    checkedAt = clock.now();
    let next: TlsOptions;
    try {
      next = load();
    } catch {
      return current; // a file mid-rotation (briefly missing): keep what works
    }
    if (
      !sameBytes(next.ca, current.ca) ||
      !sameBytes(next.cert, current.cert) ||
      !sameBytes(next.key, current.key)
    )
      current = next;
    return current;
  };
}

function sameBytes(a: string | Buffer | undefined, b: string | Buffer | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return Buffer.from(a).equals(Buffer.from(b));
}

/** A token file, re-read once a minute or when asked (kubelet rotates projected tokens). */
function tokenFileAuthorization(
  path: string,
  clock: Clock,
): (refresh?: boolean) => Promise<string | undefined> {
  let cached: { value: string; at: number } | undefined;
  return async (refresh = false) => {
    if (refresh || !cached || clock.now() - cached.at > refreshMs) {
      cached = { value: `Bearer ${readFileSync(path, 'utf8').trim()}`, at: clock.now() };
    }
    return cached.value;
  };
}

/**
 * Exec plugins and auth providers: let @kubernetes/client-node run them. It caches a credential until
 * its expirationTimestamp, so asking it again every minute is cheap and picks up a new token or a new
 * client certificate as soon as the plugin issues one.
 */
async function viaClientNode(
  paths: string[],
  source: string,
  proxyUrl: string | undefined,
  clock: Clock,
): Promise<RestConfig> {
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
  const fixed = {
    ...(cluster.skipTLSVerify ? { rejectUnauthorized: false } : {}),
    ...(cluster.tlsServerName ? { servername: cluster.tlsServerName } : {}),
  };
  let cached: { options: HttpsOptions; tls: TlsOptions; at: number } | undefined;
  const ask = async (refresh: boolean) => {
    if (!refresh && cached && clock.now() - cached.at < refreshMs) return cached;
    const options: HttpsOptions = {};
    await kc.applyToHTTPSOptions(options as Parameters<typeof kc.applyToHTTPSOptions>[0]);
    const tls: TlsOptions = { ca: options.ca, cert: options.cert, key: options.key, ...fixed };
    const same =
      cached &&
      sameBytes(tls.ca, cached.tls.ca) &&
      sameBytes(tls.cert, cached.tls.cert) &&
      sameBytes(tls.key, cached.tls.key);
    cached = { options, tls: same && cached ? cached.tls : tls, at: clock.now() };
    return cached;
  };
  await ask(true);
  return {
    server: cluster.server.replace(/\/+$/, ''),
    namespace: kc.getContextObject(kc.getCurrentContext())?.namespace,
    source: `${source} (credential plugin)`,
    ...(proxyUrl ? { proxyUrl } : {}),
    tls: async (refresh = false) => (await ask(refresh)).tls,
    authorization: async (refresh = false) => (await ask(refresh)).options.headers?.Authorization,
  };
}
