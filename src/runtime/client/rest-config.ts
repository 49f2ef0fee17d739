/**
 * Where the API server is and how to authenticate, from the usual kubeconfig rules:
 * --kubeconfig, then $KUBECONFIG, then ~/.kube/config, then the in-cluster ServiceAccount.
 *
 * @kubernetes/client-node does the parsing and every kind of credential (certificates, tokens, token
 * files that rotate, exec plugins). We read the TLS material from it once and ask it again only for the
 * Authorization header, when that may have changed: its own HTTP layer opens a new connection (and
 * re-reads the CA file) for every request, which our client avoids.
 */
import { KubeConfig } from '@kubernetes/client-node';

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
  /** The namespace of the current context, if it names one. */
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

interface HttpsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  headers?: Record<string, string>;
}

/** Loads the configuration; `kubeconfigPath` wins over $KUBECONFIG, ~/.kube/config and in-cluster. */
export async function loadRestConfig(kubeconfigPath?: string): Promise<RestConfig> {
  const kc = new KubeConfig();
  let source: string;
  if (kubeconfigPath) {
    kc.loadFromFile(kubeconfigPath);
    source = kubeconfigPath;
  } else {
    kc.loadFromDefault();
    source =
      process.env.KUBECONFIG ??
      (kc.getCurrentContext() === 'inClusterContext' ? 'in-cluster' : '~/.kube/config');
  }
  return restConfigFrom(kc, source);
}

export async function restConfigFrom(kc: KubeConfig, source: string): Promise<RestConfig> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`the kubeconfig (${source}) has no current cluster`);
  const context = kc.getContextObject(kc.getCurrentContext());

  const ask = async (): Promise<HttpsOptions> => {
    const opts: HttpsOptions = {};
    await kc.applyToHTTPSOptions(opts as Parameters<KubeConfig['applyToHTTPSOptions']>[0]);
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
    namespace: context?.namespace,
    source,
    async authorization(refresh = false) {
      if (refresh || Date.now() - cached.at > authorizationTtlMs) {
        cached = { value: (await ask()).headers?.Authorization, at: Date.now() };
      }
      return cached.value;
    },
  };
}
