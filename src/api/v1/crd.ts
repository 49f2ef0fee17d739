/**
 * The CustomResourceDefinition of ElasticWeb, built from the schemas in schema.ts.
 * `npm run manifests` writes it to config/crd/bases/; a test fails when the committed YAML differs.
 */
import { apiVersion, group, kind, plural, shortNames, singular, version } from './elasticweb.ts';
import { ElasticWebSpecSchema, ElasticWebStatusSchema } from './schema.ts';

/** TypeBox marks schemas with symbol keys; a JSON round trip leaves the plain OpenAPI schema. */
function plain<T>(schema: T): T {
  return JSON.parse(JSON.stringify(schema)) as T;
}

export const crdName = `${plural}.${group}`;

export function elasticWebCrd() {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: crdName },
    spec: {
      group,
      names: { kind, listKind: `${kind}List`, plural, singular, shortNames },
      scope: 'Namespaced',
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Image', type: 'string', jsonPath: '.spec.image', description: 'Container image' },
            { name: 'Total-QPS', type: 'integer', jsonPath: '.spec.totalQPS', description: 'QPS asked for' },
            {
              name: 'Real-QPS',
              type: 'integer',
              jsonPath: '.status.realQPS',
              description: 'QPS served by Ready pods',
            },
            {
              name: 'Observed-QPS',
              type: 'integer',
              jsonPath: '.status.observedQPS',
              description: 'QPS measured at the pods (Observed mode)',
            },
            {
              name: 'Ready',
              type: 'string',
              jsonPath: '.status.ready',
              description: 'Ready pods / replicas',
            },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
            {
              name: 'Port',
              type: 'integer',
              jsonPath: '.status.nodePort',
              priority: 1,
              description: 'NodePort',
            },
            {
              name: 'Mode',
              type: 'string',
              jsonPath: '.status.mode',
              priority: 1,
              description: 'Declared (replicas from totalQPS) or Observed (from measured traffic)',
            },
            {
              name: 'Single-Pod-QPS',
              type: 'integer',
              jsonPath: '.spec.singlePodsQPS',
              priority: 1,
              description: 'QPS one pod serves',
            },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: `${kind} runs a web workload sized by capacity: a Deployment of ceil(totalQPS / singlePodsQPS) pods behind a NodePort Service. API version ${apiVersion}.`,
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string', description: 'Versioned schema of this object.' },
                kind: { type: 'string', description: 'REST resource this object represents.' },
                metadata: { type: 'object' },
                spec: plain(ElasticWebSpecSchema),
                status: plain(ElasticWebStatusSchema),
              },
              // The name also names the Service, which must be a DNS-1035 label.
              'x-kubernetes-validations': [
                {
                  reason: 'FieldValueInvalid',
                  rule: "self.metadata.name.size() <= 63 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
                  message:
                    'metadata.name: must be a DNS-1035 label (at most 63 lowercase letters, digits or -, starting with a letter) because it also names the Service',
                },
              ],
            },
          },
        },
      ],
    },
  };
}
