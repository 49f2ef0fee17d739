/**
 * The PromQL that measures an ElasticWeb's traffic, and where it comes from.
 *
 * The default covers pods that export a standard request counter: nginx's (nginx_http_requests_total,
 * from stub_status through the nginx Prometheus exporter, as the sample's image does) or an
 * application's own http_requests_total. It selects the pods by the labels every Kubernetes scrape
 * configuration gives them (namespace, pod), with the Deployment's pod names
 * (<name>-<replicaset hash>-<pod hash>), so it works with a plain kubernetes_sd_configs job, the
 * Prometheus Operator's PodMonitor, or the project's local Prometheus alike.
 *
 * `{{window}}` is the rate window: the autoscaler asks twice, over a steady minute and over a fast
 * 15 s, and takes the larger (a load step shows in the fast one long before the minute's average; a
 * drop shows only once both have seen it, and the scale-down then waits for the stabilization window
 * too). A query without `{{window}}` is asked once.
 */
export const steadyWindow = '1m';
export const fastWindow = '15s';

export function defaultTrafficQuery(): string {
  const pods = 'namespace="{{namespace}}",pod=~"{{name}}-[a-z0-9]+-[a-z0-9]+"';
  return `sum(rate(nginx_http_requests_total{${pods}}[{{window}}])) or sum(rate(http_requests_total{${pods}}[{{window}}]))`;
}

/** The query with its placeholders filled; label values are escaped for a PromQL string. */
export function renderQuery(
  template: string,
  values: { namespace: string; name: string; window: string },
): string {
  const quoted = (v: string) => v.replaceAll('\\', '\\\\').replaceAll('"', '\\"');
  return template
    .replaceAll('{{namespace}}', quoted(values.namespace))
    .replaceAll('{{name}}', quoted(values.name))
    .replaceAll('{{window}}', values.window);
}

export function usesWindow(template: string): boolean {
  return template.includes('{{window}}');
}
