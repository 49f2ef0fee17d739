/**
 * Specs the API server must refuse, each with the message that must name the field. Shared by the
 * end-to-end tests and the fault suite, so the table is kept in one place.
 */
import { elasticWeb } from './operator.ts';

export const validSpec = { image: 'nginx:1.17.1', singlePodsQPS: 800, totalQPS: 2400 };

export interface InvalidSpec {
  what: string;
  /** The spec to send; undefined sends no spec at all. */
  spec?: Record<string, unknown>;
  name?: string;
  /** What the API server's message must say. */
  field: RegExp;
}

export const invalidSpecs: InvalidSpec[] = [
  {
    what: 'singlePodsQPS 0',
    spec: { ...validSpec, singlePodsQPS: 0 },
    field: /spec\.singlePodsQPS.*greater than or equal to 1/,
  },
  {
    what: 'negative singlePodsQPS',
    spec: { ...validSpec, singlePodsQPS: -800 },
    field: /spec\.singlePodsQPS/,
  },
  {
    what: 'negative totalQPS',
    spec: { ...validSpec, totalQPS: -1 },
    field: /spec\.totalQPS.*greater than or equal to 0/,
  },
  { what: 'port 80', spec: { ...validSpec, port: 80 }, field: /spec\.port.*greater than or equal to 30000/ },
  {
    what: 'port 40000',
    spec: { ...validSpec, port: 40000 },
    field: /spec\.port.*less than or equal to 32767/,
  },
  { what: 'empty image', spec: { ...validSpec, image: '' }, field: /spec\.image.*at least 1 chars/ },
  { what: 'missing image', spec: { singlePodsQPS: 800 }, field: /spec\.image: Required value/ },
  { what: 'missing singlePodsQPS', spec: { image: 'nginx' }, field: /spec\.singlePodsQPS: Required value/ },
  {
    what: 'a string for a number',
    spec: { ...validSpec, singlePodsQPS: '800' },
    field: /spec\.singlePodsQPS.*must be of type integer/,
  },
  { what: 'containerPort 0', spec: { ...validSpec, containerPort: 0 }, field: /spec\.containerPort/ },
  { what: 'maxReplicas 0', spec: { ...validSpec, maxReplicas: 0 }, field: /spec\.maxReplicas/ },
  {
    what: 'a bad quantity',
    spec: { ...validSpec, resources: { limits: { cpu: 'lots' } } },
    field: /spec\.resources\.limits\.cpu/,
  },
  {
    what: 'port 29999',
    spec: { ...validSpec, port: 29999 },
    field: /spec\.port.*greater than or equal to 30000/,
  },
  {
    what: 'port 32768',
    spec: { ...validSpec, port: 32768 },
    field: /spec\.port.*less than or equal to 32767/,
  },
  {
    what: 'a number for the image',
    spec: { ...validSpec, image: 42 },
    field: /spec\.image.*must be of type string/,
  },
  {
    what: 'a fraction for totalQPS',
    spec: { ...validSpec, totalQPS: 1.5 },
    field: /spec\.totalQPS.*must be of type integer/,
  },
  {
    what: 'totalQPS beyond int32',
    spec: { ...validSpec, totalQPS: 3_000_000_000 },
    field: /spec\.totalQPS.*less than or equal to 2147483647/,
  },
  { what: 'no spec', spec: undefined, field: /spec: Required value/ },
  {
    what: 'a name that cannot name a Service',
    spec: validSpec,
    name: '1web',
    field: /metadata\.name: must be a DNS-1035 label/,
  },
];

/** The request body for one invalid case. */
export function invalidBody(namespace: string, c: InvalidSpec) {
  const body = elasticWeb(namespace, c.name ?? 'bad', c.spec ?? {});
  return c.spec ? body : { ...body, spec: undefined };
}
