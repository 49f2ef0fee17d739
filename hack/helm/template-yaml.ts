/**
 * YAML with Helm template directives in it: an object is written as YAML, then markers in it are
 * replaced by template text, so the chart's templates keep the exact structure kustomize rendered and
 * only the marked places become values.
 *
 *   helm(expr)            a scalar:          `replicas: {{ .Values.x }}`
 *   block(expr)           a mapping or list: `labels:` + `{{- expr | nindent N }}` on the next line
 *   raw(lines)            a key replaced by template lines (conditional keys, generated lists)
 */
import { stringify } from 'yaml';

const scalarMark = '@@helm:';
const blockMark = '@@block:';
const rawKey = '__raw_';
const raws = new Map<string, string[]>();

/** A scalar value written as `{{ expr }}`. */
export const helm = (expr: string) => `${scalarMark}${Buffer.from(expr).toString('base64url')}@@`;

/** A mapping or list value written as `{{- expr | nindent N }}` under its key. */
export const block = (expr: string) => `${blockMark}${Buffer.from(expr).toString('base64url')}@@`;

/**
 * A key whose line is replaced by `lines` (template text, indented to the key's level): use it as
 * `{ ...raw(['{{- if x }}', 'key: value', '{{- end }}']) }`.
 */
export function raw(lines: string[]): Record<string, string> {
  const id = `${rawKey}${raws.size}`;
  raws.set(id, lines);
  return { [id]: '' };
}

const decode = (b64: string) => Buffer.from(b64, 'base64url').toString();

/** The template text of `obj`. */
export function toTemplate(obj: unknown): string {
  const text = stringify(obj, { lineWidth: 0 });
  return text
    .split('\n')
    .flatMap((line) => {
      const rawMatch = /^(\s*)(- )?(__raw_\d+): ""$/.exec(line);
      if (rawMatch) {
        const lines = raws.get(rawMatch[3] as string) ?? [];
        // First key of a list item: the item's dash goes on the first line, the rest align under it.
        const indent = `${rawMatch[1]}${rawMatch[2] ? '  ' : ''}`;
        return lines.map((l, i) => (i === 0 && rawMatch[2] ? `${rawMatch[1]}- ${l}` : `${indent}${l}`));
      }
      const blockMatch = new RegExp(`^(\\s*)([^:]+): (["']?)${blockMark}([\\w-]+)@@\\3$`).exec(line);
      if (blockMatch) {
        const indent = blockMatch[1] as string;
        const width = indent.length + 2;
        return [
          `${indent}${blockMatch[2]}:`,
          `${indent}  {{- ${decode(blockMatch[4] as string)} | nindent ${width} }}`,
        ];
      }
      // A value that is only a marker loses YAML's quotes (a number stays a number); a marker inside a
      // longer string keeps them.
      return [
        line
          .replace(
            new RegExp(`(["'])${scalarMark}([\\w-]+)@@\\1$`),
            (_, _q: string, b64: string) => `{{ ${decode(b64)} }}`,
          )
          .replace(new RegExp(`${scalarMark}([\\w-]+)@@`, 'g'), (_, b64: string) => `{{ ${decode(b64)} }}`),
      ];
    })
    .join('\n');
}
