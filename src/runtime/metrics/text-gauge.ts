/**
 * Gauge series in Prometheus text exposition format, for per-object gauges over caches of tens of
 * thousands (see Metrics.addTextSource): each object's line is made when the object changes, and a
 * scrape only joins the lines.
 */
import { flat } from '../flat-string.ts';

const needsEscape = /[\\"\n]/;

function escapeLabelValue(value: string): string {
  return needsEscape.test(value)
    ? value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')
    : value;
}

/** `# HELP` and `# TYPE` lines of a gauge family. */
export function gaugeHeader(name: string, help: string): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} gauge\n`;
}

/** One sample line, label values escaped as the format requires. */
export function gaugeLine(name: string, labels: Readonly<Record<string, string>>, value: number): string {
  let rendered = '';
  for (const [key, v] of Object.entries(labels))
    rendered += `${rendered ? ',' : ''}${key}="${escapeLabelValue(v)}"`;
  return `${name}{${rendered}} ${value}\n`;
}

/** A gauge family whose lines are kept per object key and joined when scraped. */
export class TextGauge {
  readonly name: string;
  readonly #header: string;
  readonly #lines = new Map<string, string>();

  constructor(name: string, help: string) {
    this.name = name;
    this.#header = gaugeHeader(name, help);
  }

  set(key: string, labels: Readonly<Record<string, string>>, value: number): void {
    this.#lines.set(key, flat(gaugeLine(this.name, labels, value)));
  }

  delete(key: string): void {
    this.#lines.delete(key);
  }

  render(): string {
    let out = this.#header;
    for (const line of this.#lines.values()) out += line;
    return out;
  }
}
