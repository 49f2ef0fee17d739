/** ElasticWeb objects for the unit tests. */
import type { ElasticWeb, ElasticWebSpec } from '../../../src/api/v1/elasticweb.ts';

export function elasticWeb(
  spec: Partial<ElasticWebSpec> = {},
  metadata: Partial<ElasticWeb['metadata']> = {},
): ElasticWeb {
  return {
    apiVersion: 'elasticweb.example.com/v1',
    kind: 'ElasticWeb',
    metadata: { name: 'web', namespace: 'default', uid: 'uid-1', generation: 1, ...metadata },
    spec: { image: 'nginx:1.17.1', singlePodsQPS: 100, totalQPS: 300, ...spec },
  };
}
