/** The local Prometheus's pod discovery: annotated, Running pods with an IP become targets, labelled by namespace and pod. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { podTargets } from '../../hack/cluster/pod-targets.ts';

const pod = (
  name: string,
  annotations: Record<string, string>,
  phase = 'Running',
  podIP: string | undefined = '10.77.0.9',
) => ({
  metadata: { name, namespace: 'shop', annotations },
  status: { phase, ...(podIP ? { podIP } : {}) },
});

test('annotated Running pods are targets at IP:port, with their path, namespace and pod name', () => {
  assert.deepEqual(
    podTargets([
      pod('web-1', {
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '9113',
        'prometheus.io/path': '/metrics',
      }),
      pod('quiet', { 'prometheus.io/port': '9113' }),
      pod('pending', { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9113' }, 'Pending'),
      pod('no-ip', { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9113' }, 'Running', ''),
      pod('bad-port', { 'prometheus.io/scrape': 'true', 'prometheus.io/port': 'http' }),
    ]),
    [
      {
        targets: ['10.77.0.9:9113'],
        labels: { namespace: 'shop', pod: 'web-1', __metrics_path__: '/metrics' },
      },
    ],
  );
});
