/**
 * One call that puts the secure metrics endpoint together for the manager (--metrics-secure):
 * the certificate (from --metrics-cert-dir, else self-signed), the access reviewer on the manager's
 * API client, and the HTTPS server around the metrics render. The runtime knows no operator: the
 * caller passes its names (field manager, certificate hosts).
 */
import type { Logger } from '../../log/logger.ts';
import { AccessReviewer, type ReviewClient } from './access-reviewer.ts';
import { CertDirSource } from './cert-dir-source.ts';
import { type RenderMetrics, serveSecureMetrics } from './metrics-server.ts';
import { SelfSignedSource, type TlsSource } from './tls-source.ts';

export interface SecureMetricsOptions {
  /** --metrics-bind-address (":8443"); "0" disables it. */
  address: string;
  /** --metrics-cert-dir: tls.crt and tls.key, re-read when they change; self-signed when absent. */
  certDir?: string;
  /** Names the self-signed certificate is made for (default localhost, 127.0.0.1, ::1). */
  hosts?: string[];
  /** The manager's API client (KubeClient fits). */
  client: ReviewClient;
  /** Field manager on the review requests: the component name. */
  fieldManager: string;
  render: RenderMetrics;
  log: Logger;
  /** How long a review decision is reused (default 60 s). */
  reviewTtlMs?: number;
}

export interface SecureMetrics {
  address: string;
  reviewer: AccessReviewer;
  close(): Promise<void>;
}

/** Starts the endpoint; resolves undefined when `address` is "0". Throws when the cert dir does not load. */
export async function startSecureMetrics(options: SecureMetricsOptions): Promise<SecureMetrics | undefined> {
  if (options.address === '0' || options.address === '') return undefined;
  const tls: TlsSource = options.certDir
    ? new CertDirSource(options.certDir, { log: options.log })
    : new SelfSignedSource({ hosts: options.hosts });
  const reviewer = new AccessReviewer({
    client: options.client,
    fieldManager: options.fieldManager,
    ttlMs: options.reviewTtlMs,
    log: options.log,
  });
  let served: Awaited<ReturnType<typeof serveSecureMetrics>>;
  try {
    served = await serveSecureMetrics({
      address: options.address,
      tls,
      access: reviewer,
      render: options.render,
      log: options.log,
    });
  } catch (err) {
    tls.close();
    throw err;
  }
  if (!served) {
    tls.close();
    return undefined;
  }
  const { server, address } = served;
  options.log.info(
    { address, certificate: options.certDir ?? 'self-signed' },
    'serving metrics over HTTPS (authenticated and authorized by the API server)',
  );
  return {
    address,
    reviewer,
    close: () => {
      tls.close();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
