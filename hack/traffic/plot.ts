/**
 * An SVG chart of an autopilot run: the load sent and the QPS Prometheus measured (left axis), the
 * replicas asked for and the pods Ready (right axis), against seconds. Plain SVG, no library: the
 * chart is small and its data is a few hundred points.
 */

export interface TimelinePoint {
  /** Seconds since the run started. */
  t: number;
  /** Requests per second the load generator was sending. */
  load: number;
  /** status.observedQPS (what the operator measured), when known. */
  observed?: number;
  /** Deployment spec.replicas and Ready pods. */
  replicas: number;
  ready: number;
}

const width = 860;
const height = 380;
const margin = { left: 60, right: 60, top: 56, bottom: 50 };

function scale(domainMax: number, rangeFrom: number, rangeTo: number) {
  return (v: number) => rangeFrom + (v / (domainMax || 1)) * (rangeTo - rangeFrom);
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const step = 10 ** Math.floor(Math.log10(v));
  return Math.ceil(v / step) * step;
}

function path(points: [number, number][]): string {
  return points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
}

/** Steps (hold the value until the next point), for counts that change in whole units. */
function stepPath(points: [number, number][]): string {
  let d = '';
  points.forEach(([x, y], i) => {
    if (i === 0) d += `M${x.toFixed(1)},${y.toFixed(1)}`;
    else d += ` H${x.toFixed(1)} V${y.toFixed(1)}`;
  });
  return d;
}

export function renderTimeline(points: TimelinePoint[], title: string): string {
  const tMax = Math.max(...points.map((p) => p.t), 1);
  const qMax = niceMax(Math.max(...points.map((p) => Math.max(p.load, p.observed ?? 0)), 1));
  const rMax = Math.max(niceMax(Math.max(...points.map((p) => Math.max(p.replicas, p.ready)), 1)), 2);
  const x = scale(tMax, margin.left, width - margin.right);
  const yq = scale(qMax, height - margin.bottom, margin.top);
  const yr = scale(rMax, height - margin.bottom, margin.top);
  const ticks = (max: number, n: number) => Array.from({ length: n + 1 }, (_, i) => (max * i) / n);
  const lines: string[] = [];
  lines.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
  );
  for (const t of ticks(tMax, 8)) {
    lines.push(
      `<line x1="${x(t)}" y1="${margin.top}" x2="${x(t)}" y2="${height - margin.bottom}" stroke="#eee"/>`,
      `<text x="${x(t)}" y="${height - margin.bottom + 16}" text-anchor="middle">${Math.round(t)}</text>`,
    );
  }
  for (const q of ticks(qMax, 5)) {
    lines.push(
      `<line x1="${margin.left}" y1="${yq(q)}" x2="${width - margin.right}" y2="${yq(q)}" stroke="#eee"/>`,
      `<text x="${margin.left - 6}" y="${yq(q) + 4}" text-anchor="end">${Math.round(q)}</text>`,
    );
  }
  // Whole pods only on the right axis.
  const podStep = Math.max(1, Math.ceil(rMax / 5));
  for (let r = 0; r <= rMax; r += podStep) {
    lines.push(`<text x="${width - margin.right + 6}" y="${yr(r) + 4}">${r}</text>`);
  }
  lines.push(
    `<text x="${width / 2}" y="${height - 12}" text-anchor="middle">seconds</text>`,
    `<text transform="translate(16,${height / 2}) rotate(-90)" text-anchor="middle">QPS</text>`,
    `<text transform="translate(${width - 14},${height / 2}) rotate(90)" text-anchor="middle">pods</text>`,
    `<path d="${stepPath(points.map((p) => [x(p.t), yq(p.load)]))}" fill="none" stroke="#999" stroke-width="2" stroke-dasharray="5,3"/>`,
    `<path d="${path(points.filter((p) => p.observed !== undefined).map((p) => [x(p.t), yq(p.observed as number)]))}" fill="none" stroke="#1f77b4" stroke-width="2"/>`,
    `<path d="${stepPath(points.map((p) => [x(p.t), yr(p.replicas)]))}" fill="none" stroke="#d62728" stroke-width="2"/>`,
    `<path d="${stepPath(points.map((p) => [x(p.t), yr(p.ready)]))}" fill="none" stroke="#2ca02c" stroke-width="2" stroke-dasharray="2,2"/>`,
  );
  const legend: [string, string, string][] = [
    ['load sent (QPS)', '#999', '5,3'],
    ['observedQPS (Prometheus)', '#1f77b4', ''],
    ['replicas', '#d62728', ''],
    ['Ready pods', '#2ca02c', '2,2'],
  ];
  legend.forEach(([label, color, dash], i) => {
    const lx = margin.left + 10 + i * 200;
    lines.push(
      `<line x1="${lx}" y1="${margin.top - 18}" x2="${lx + 24}" y2="${margin.top - 18}" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
      `<text x="${lx + 30}" y="${margin.top - 14}">${label}</text>`,
    );
  });
  lines.push('</svg>');
  return `${lines.join('\n')}\n`;
}

function escapeXml(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
