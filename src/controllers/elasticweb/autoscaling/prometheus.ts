/**
 * A minimal Prometheus HTTP API client: one instant query, answered as a number. A query that
 * matches no series answers `undefined` (no data is not zero traffic); every failure (unreachable,
 * timeout, an error from Prometheus, a result that is not a single number) throws, with the reason.
 */

export class PrometheusError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PrometheusError';
  }
}

export type InstantQuery = (promql: string, signal?: AbortSignal) => Promise<number | undefined>;

interface QueryResponse {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: string; result: { value?: [number, string] }[] | [number, string] };
}

export function prometheusClient(baseUrl: string, timeoutMs = 5000): InstantQuery {
  const base = baseUrl.replace(/\/+$/, '');
  return async (promql, signal) => {
    const url = `${base}/api/v1/query?query=${encodeURIComponent(promql)}`;
    const timeout = AbortSignal.timeout(timeoutMs);
    let res: Response;
    try {
      res = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    } catch (err) {
      throw new PrometheusError(`Prometheus at ${base} did not answer: ${(err as Error).message}`);
    }
    let body: QueryResponse;
    try {
      body = (await res.json()) as QueryResponse;
    } catch {
      throw new PrometheusError(`Prometheus at ${base} answered HTTP ${res.status} without JSON`);
    }
    if (body.status !== 'success')
      throw new PrometheusError(`Prometheus refused the query: ${body.error ?? res.status}`);
    const data = body.data;
    if (data?.resultType === 'scalar') return Number((data.result as [number, string])[1]);
    if (data?.resultType !== 'vector')
      throw new PrometheusError(`the query gave a ${data?.resultType}, not a number`);
    const series = data.result as { value?: [number, string] }[];
    if (series.length === 0) return undefined;
    if (series.length > 1)
      throw new PrometheusError(`the query gave ${series.length} series, not one number (sum it)`);
    const value = Number(series[0]?.value?.[1]);
    if (!Number.isFinite(value)) throw new PrometheusError(`the query gave ${series[0]?.value?.[1]}`);
    return value;
  };
}
