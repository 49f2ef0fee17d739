/**
 * A gauge family in Prometheus text exposition format, built from a list at scrape time (see
 * Metrics.addTextSource). Values of labels are escaped as the format requires.
 */
export function renderGauge<T>(
  name: string,
  help: string,
  items: Iterable<T>,
  labels: (item: T) => Record<string, string>,
  value: (item: T) => number,
): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`];
  for (const item of items) {
    const rendered = Object.entries(labels(item))
      .map(([k, v]) => `${k}="${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`)
      .join(',');
    lines.push(`${name}{${rendered}} ${value(item)}`);
  }
  return `${lines.join('\n')}\n`;
}
