/** desiredDeployment and desiredService: what the operator applies for an ElasticWeb. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { defaults } from '../../src/api/v1/elasticweb.ts';
import {
  containerName,
  desiredDeployment,
  desiredDisruptionBudget,
  desiredService,
  instanceLabel,
  managedByLabel,
  managedByValue,
  objectLabels,
  portName,
  selectorLabels,
} from '../../src/controllers/elasticweb/desired.ts';
import { elasticWeb } from './support/elasticweb.ts';

/** Names the CRD accepts: DNS-1035 labels (it also names the Service). */
const ewName = fc.stringMatching(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/);

/** A label selector (matchLabels) selects a set of labels when every pair is in it. */
function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** Kubernetes' label value syntax: at most 63 characters, alphanumeric at both ends. */
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

describe('desiredDeployment', () => {
  test('its selector picks the pods of its own template and never those of another ElasticWeb', () => {
    fc.assert(
      fc.property(ewName, ewName, (a, b) => {
        fc.pre(a !== b);
        const da = desiredDeployment(elasticWeb({}, { name: a }));
        const db = desiredDeployment(elasticWeb({}, { name: b }));
        assert.ok(selects(da.spec.selector.matchLabels, da.spec.template.metadata.labels));
        assert.ok(!selects(da.spec.selector.matchLabels, db.spec.template.metadata.labels));
        assert.ok(!selects(db.spec.selector.matchLabels, da.spec.template.metadata.labels));
      }),
    );
  });

  test('every label value is a valid Kubernetes label value for any name the CRD accepts', () => {
    fc.assert(
      fc.property(ewName, (name) => {
        const d = desiredDeployment(elasticWeb({}, { name }));
        for (const labels of [
          d.metadata.labels,
          d.spec.template.metadata.labels,
          d.spec.selector.matchLabels,
        ]) {
          for (const value of Object.values(labels)) {
            assert.ok(value.length <= 63 && labelValue.test(value), `label value ${JSON.stringify(value)}`);
          }
        }
      }),
    );
  });

  test('its metadata names it after the ElasticWeb, labels it as managed, and makes the ElasticWeb its controller', () => {
    const ew = elasticWeb({}, { name: 'shop', namespace: 'team-a', uid: 'c0ffee' });
    const d = desiredDeployment(ew);
    assert.equal(d.apiVersion, 'apps/v1');
    assert.equal(d.kind, 'Deployment');
    assert.equal(d.metadata.name, 'shop');
    assert.equal(d.metadata.namespace, 'team-a');
    assert.equal(d.metadata.labels[managedByLabel], managedByValue);
    assert.equal(d.metadata.labels[instanceLabel], 'shop');
    assert.deepEqual(d.metadata.ownerReferences, [
      {
        apiVersion: 'elasticweb.example.com/v1',
        kind: 'ElasticWeb',
        name: 'shop',
        uid: 'c0ffee',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
  });

  test('replicas come from the replica plan', () => {
    assert.equal(desiredDeployment(elasticWeb({ totalQPS: 250, singlePodsQPS: 100 })).spec.replicas, 3);
    assert.equal(
      desiredDeployment(elasticWeb({ totalQPS: 5000, singlePodsQPS: 1, maxReplicas: 7 })).spec.replicas,
      7,
    );
    assert.equal(desiredDeployment(elasticWeb({ totalQPS: undefined })).spec.replicas, 0);
  });

  test('one container runs the image and declares a TCP port, 80 by default', () => {
    const d = desiredDeployment(elasticWeb({ image: 'nginx:1.27' }));
    assert.equal(d.spec.template.spec.containers.length, 1);
    const c = d.spec.template.spec.containers[0];
    assert.ok(c);
    assert.equal(c.name, containerName);
    assert.equal(c.image, 'nginx:1.27');
    assert.deepEqual(c.ports, [{ name: portName, containerPort: 80, protocol: 'TCP' }]);
    const custom = desiredDeployment(elasticWeb({ containerPort: 8080 })).spec.template.spec.containers[0];
    assert.deepEqual(custom?.ports, [{ name: portName, containerPort: 8080, protocol: 'TCP' }]);
  });

  test('resources default to 100m CPU and 512Mi memory, requested and limited', () => {
    const c = desiredDeployment(elasticWeb({ resources: undefined })).spec.template.spec.containers[0];
    assert.deepEqual(c?.resources, {
      requests: { cpu: '100m', memory: '512Mi' },
      limits: { cpu: '100m', memory: '512Mi' },
    });
  });

  test('resources given in the spec are used as they are, with no defaults mixed in (an absent map is empty)', () => {
    const c = desiredDeployment(elasticWeb({ resources: { requests: { cpu: '250m' } } })).spec.template.spec
      .containers[0];
    assert.deepEqual(c?.resources, { requests: { cpu: '250m' }, limits: {} });
  });

  test('the desired resources are copies: changing them changes neither the spec nor the defaults', () => {
    const ew = elasticWeb({ resources: { limits: { cpu: '1' } } });
    const mine = desiredDeployment(ew).spec.template.spec.containers[0];
    assert.ok(mine?.resources.limits);
    mine.resources.limits.cpu = '2';
    assert.equal(ew.spec.resources?.limits?.cpu, '1');
    const fromDefaults = desiredDeployment(elasticWeb()).spec.template.spec.containers[0];
    assert.ok(fromDefaults?.resources.requests);
    fromDefaults.resources.requests.cpu = '9';
    assert.equal(defaults.resources.requests.cpu, '100m');
  });

  test('the pod template carries the same labels as the Deployment', () => {
    const ew = elasticWeb({}, { name: 'shop' });
    assert.deepEqual(desiredDeployment(ew).spec.template.metadata.labels, objectLabels(ew));
  });
});

describe('desiredService', () => {
  test('is a NodePort Service selecting exactly the pods of its Deployment', () => {
    fc.assert(
      fc.property(ewName, ewName, (a, b) => {
        fc.pre(a !== b);
        const sa = desiredService(elasticWeb({}, { name: a }));
        assert.equal(sa.spec.type, 'NodePort');
        assert.deepEqual(
          sa.spec.selector,
          desiredDeployment(elasticWeb({}, { name: a })).spec.selector.matchLabels,
        );
        assert.ok(
          !selects(
            sa.spec.selector,
            desiredDeployment(elasticWeb({}, { name: b })).spec.template.metadata.labels,
          ),
        );
      }),
    );
  });

  test('forwards a TCP port to the container port, 80 by default', () => {
    assert.deepEqual(desiredService(elasticWeb()).spec.ports, [
      { name: portName, protocol: 'TCP', port: 80, targetPort: 80 },
    ]);
    assert.deepEqual(desiredService(elasticWeb({ containerPort: 8080 })).spec.ports, [
      { name: portName, protocol: 'TCP', port: 8080, targetPort: 8080 },
    ]);
  });

  test('asks for a nodePort only when spec.port is set', () => {
    assert.equal('nodePort' in (desiredService(elasticWeb()).spec.ports[0] ?? {}), false);
    assert.equal(desiredService(elasticWeb({ port: 30080 })).spec.ports[0]?.nodePort, 30080);
  });

  test('has the same name, labels and controller owner reference as the Deployment', () => {
    const ew = elasticWeb({}, { name: 'shop', namespace: 'team-a', uid: 'c0ffee' });
    assert.deepEqual(desiredService(ew).metadata, desiredDeployment(ew).metadata);
    assert.equal(desiredService(ew).apiVersion, 'v1');
    assert.equal(desiredService(ew).kind, 'Service');
    assert.deepEqual(selectorLabels(ew), { [instanceLabel]: 'shop' });
  });
});

describe('the workload never drops a request (issue 10)', () => {
  const web = (ew = elasticWeb()) =>
    desiredDeployment(ew).spec.template.spec.containers[0] as unknown as Record<string, unknown>;

  test('a pod is Ready only once the server answers: GET / on the container port, every 2 s, all defaults spelled out', () => {
    assert.deepEqual(web().readinessProbe, {
      httpGet: { path: '/', port: 80, scheme: 'HTTP' },
      timeoutSeconds: 1,
      periodSeconds: 2,
      successThreshold: 1,
      failureThreshold: 2,
    });
    assert.deepEqual(web(elasticWeb({ containerPort: 8080 })).readinessProbe, {
      httpGet: { path: '/', port: 8080, scheme: 'HTTP' },
      timeoutSeconds: 1,
      periodSeconds: 2,
      successThreshold: 1,
      failureThreshold: 2,
    });
  });

  test('the spec may give another probe; a zero initial delay is left out as the API server leaves it out', () => {
    const probe = web(
      elasticWeb({ readinessProbe: { tcpSocket: {}, periodSeconds: 5, initialDelaySeconds: 0 } }),
    ).readinessProbe;
    assert.deepEqual(probe, {
      tcpSocket: { port: 80 },
      timeoutSeconds: 1,
      periodSeconds: 5,
      successThreshold: 1,
      failureThreshold: 3,
    });
  });

  test('rollouts keep capacity: a new pod is Ready before an old one goes', () => {
    assert.deepEqual(desiredDeployment(elasticWeb()).spec.strategy, {
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' },
    });
  });

  test('a stopping pod sleeps 5 s before its SIGTERM, within a 30 s grace period; both configurable', () => {
    assert.deepEqual(web().lifecycle, { preStop: { sleep: { seconds: 10 } } });
    assert.equal(desiredDeployment(elasticWeb()).spec.template.spec.terminationGracePeriodSeconds, 30);
    const custom = elasticWeb({ preStopDelaySeconds: 12, terminationGracePeriodSeconds: 40 });
    assert.deepEqual(web(custom).lifecycle, { preStop: { sleep: { seconds: 12 } } });
    assert.equal(desiredDeployment(custom).spec.template.spec.terminationGracePeriodSeconds, 40);
    assert.equal(web(elasticWeb({ preStopDelaySeconds: 0 })).lifecycle, undefined);
  });

  test('least privilege by default, and the spec may change it', () => {
    assert.deepEqual(web().securityContext, defaults.securityContext);
    const nonRoot = { runAsNonRoot: true, runAsUser: 101, capabilities: { drop: ['ALL'] } };
    assert.deepEqual(web(elasticWeb({ securityContext: nonRoot })).securityContext, nonRoot);
  });

  test('one PodDisruptionBudget lets a drain take at most one pod, selecting exactly the Deployment’s pods', () => {
    const ew = elasticWeb({}, { name: 'shop' });
    const pdb = desiredDisruptionBudget(ew);
    assert.equal(pdb.kind, 'PodDisruptionBudget');
    assert.equal(pdb.spec.maxUnavailable, 1);
    assert.deepEqual(pdb.spec.selector.matchLabels, desiredDeployment(ew).spec.selector.matchLabels);
    assert.deepEqual(pdb.metadata, desiredDeployment(ew).metadata);
  });
});

describe('Observed mode: the pods export their traffic (issue 11)', () => {
  const observedEw = (autoscaling: Record<string, unknown> = {}) =>
    elasticWeb({ autoscaling: { mode: 'Observed', ...autoscaling } });

  test('an exporter sidecar reads stub_status and serves nginx_http_requests_total on 9113, unprivileged', () => {
    const d = desiredDeployment(observedEw());
    const containers = d.spec.template.spec.containers;
    assert.equal(containers.length, 2);
    const exporter = containers[1] as Record<string, unknown> & { securityContext: Record<string, unknown> };
    assert.equal(exporter.name, 'metrics-exporter');
    assert.equal(exporter.image, defaults.exporter.image);
    assert.deepEqual(exporter.args, [
      '--nginx.scrape-uri=http://127.0.0.1:8080/stub_status',
      '--web.listen-address=:9113',
    ]);
    assert.equal(exporter.securityContext.runAsNonRoot, true);
    assert.equal(exporter.securityContext.readOnlyRootFilesystem, true);
    assert.deepEqual(d.spec.template.metadata.annotations, {
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '9113',
      'prometheus.io/path': '/metrics',
    });
  });

  test('without the exporter, Prometheus scrapes the web container itself (its port, or metricsPort)', () => {
    const own = desiredDeployment(observedEw({ exporter: { enabled: false } }));
    assert.equal(own.spec.template.spec.containers.length, 1);
    assert.equal(own.spec.template.metadata.annotations?.['prometheus.io/port'], '80');
    const custom = desiredDeployment(observedEw({ exporter: { enabled: false }, metricsPort: 9000 }));
    assert.equal(custom.spec.template.metadata.annotations?.['prometheus.io/port'], '9000');
  });

  test('Declared mode adds neither the sidecar nor the annotations', () => {
    const d = desiredDeployment(elasticWeb());
    assert.equal(d.spec.template.spec.containers.length, 1);
    assert.equal(d.spec.template.metadata.annotations, undefined);
  });
});
