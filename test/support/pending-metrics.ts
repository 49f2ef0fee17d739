/**
 * Metrics the dashboard and the alerts already use that the operator does not export yet. The lead
 * adds them (issue 11, autopilot; the status-condition gauge): elasticweb_observed_qps{namespace,name}
 * and elasticweb_status_condition{namespace,name,type,status,reason}; and one that is exported only
 * after its first event (below). Queries on them must still parse; only they are excused from
 * returning data (test/e2e/dashboard.test.ts). Empty this set as each lands: the tests then require it.
 */
export const pendingMetrics: ReadonlySet<string> = new Set([]);

/** Metric names a PromQL expression selects (`name{...}` or `name[...]`), histogram suffixes kept. */
export function metricNamesIn(expr: string): string[] {
  return [...new Set([...expr.matchAll(/([a-zA-Z_:][\w:]*)\s*[{[]/g)].map((m) => m[1] as string))];
}
