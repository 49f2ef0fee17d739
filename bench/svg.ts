/**
 * Line and step charts as SVG text, drawn from the results by code (no plotting library): the report
 * puts them beside its tables. Axes start at 0; ticks are 1, 2 or 5 times a power of ten.
 */

export interface Series {
  label: string;
  colour: string;
  points: [number, number][];
  /** Draw as a step curve (a count rising at each x), else straight segments with dots. */
  step?: boolean;
  dash?: string;
  width?: number;
  opacity?: number;
  /** Leave out of the legend (e.g. the faint per-run curves). */
  hidden?: boolean;
}

export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** 1, 2 or 5 times a power of ten, at least `x`. */
export function niceCeil(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  return ([1, 2, 5, 10].find((k) => k * p >= x) ?? 10) * p;
}

const tickLabel = (v: number) => (Math.abs(v) >= 1000 ? `${+(v / 1000).toFixed(1)}k` : `${+v.toFixed(2)}`);

export function chartSvg(chart: Chart): string {
  const all = chart.series
    .flatMap((s) => s.points)
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xMax = niceCeil(Math.max(...all.map(([x]) => x), 0));
  const yMax = niceCeil(Math.max(...all.map(([, y]) => y), 0));
  const [w, h, left, right, top, bottom] = [760, 420, 64, 20, 40, 48];
  const x = (v: number) => left + (v / xMax) * (w - left - right);
  const y = (v: number) => h - bottom - (v / yMax) * (h - top - bottom);
  const parts: string[] = [];
  for (let i = 0; i <= 5; i++) {
    const xv = (xMax * i) / 5;
    const yv = (yMax * i) / 5;
    parts.push(
      `<line x1="${x(xv)}" y1="${top}" x2="${x(xv)}" y2="${h - bottom}" stroke="#eee"/>`,
      `<text x="${x(xv)}" y="${h - bottom + 18}" text-anchor="middle">${tickLabel(xv)}</text>`,
      `<line x1="${left}" y1="${y(yv)}" x2="${w - right}" y2="${y(yv)}" stroke="#eee"/>`,
      `<text x="${left - 8}" y="${y(yv) + 4}" text-anchor="end">${tickLabel(yv)}</text>`,
    );
  }
  for (const s of chart.series) {
    const pts = s.points.filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b));
    if (pts.length === 0) continue;
    let d = '';
    if (s.step) {
      d = `M${x(0).toFixed(1)},${y(0).toFixed(1)}`;
      for (const [px, py] of pts) d += ` H${x(px).toFixed(1)} V${y(py).toFixed(1)}`;
    } else {
      d = pts.map(([px, py], i) => `${i ? 'L' : 'M'}${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(' ');
      for (const [px, py] of pts) {
        parts.push(`<circle cx="${x(px).toFixed(1)}" cy="${y(py).toFixed(1)}" r="3" fill="${s.colour}"/>`);
      }
    }
    parts.push(
      `<path d="${d}" fill="none" stroke="${s.colour}" stroke-width="${s.width ?? 2}"` +
        `${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}${s.opacity !== undefined ? ` stroke-opacity="${s.opacity}"` : ''}/>`,
    );
  }
  const shown = chart.series.filter((s) => !s.hidden);
  // Bottom right: the curves here rise from the left, so that corner is mostly empty.
  const [lx, ly] = [w - right - 260, h - bottom - 14 - (shown.length - 1) * 18];
  const legend = shown
    .map(
      (s, i) =>
        `<line x1="${lx}" y1="${ly + i * 18}" x2="${lx + 28}" y2="${ly + i * 18}" stroke="${s.colour}" stroke-width="2.5"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>` +
        `<text x="${lx + 34}" y="${ly + 4 + i * 18}" paint-order="stroke" stroke="white" stroke-width="3">${esc(s.label)}</text>`,
    )
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="12">
<rect width="${w}" height="${h}" fill="white"/>
<text x="${w / 2}" y="22" text-anchor="middle" font-size="14">${esc(chart.title)}</text>
${parts.join('\n')}
<line x1="${left}" y1="${h - bottom}" x2="${w - right}" y2="${h - bottom}" stroke="#333"/>
<line x1="${left}" y1="${top}" x2="${left}" y2="${h - bottom}" stroke="#333"/>
<text x="${(left + w - right) / 2}" y="${h - 10}" text-anchor="middle">${esc(chart.xLabel)}</text>
<text x="16" y="${(top + h - bottom) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(top + h - bottom) / 2})">${esc(chart.yLabel)}</text>
${legend}
</svg>
`;
}
