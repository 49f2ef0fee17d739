/** parseFlags and usage: kubebuilder's manager flags, each also readable from an environment variable. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { flagSpecs, parseFlags, usage } from '../../src/cmd/flags.ts';

/** Two different valid values for a string flag (tried in order until both parse). */
const candidates: Record<string, [string, string]> = {
  'max-concurrent-reconciles': ['7', '9'],
  'log-level': ['debug', 'warn'],
  'log-format': ['text', 'json'],
  'prometheus-url': ['http://127.0.0.1:9090', 'https://prometheus.monitoring:9090'],
};
function twoValues(name: string): [string, string] {
  const known = candidates[name];
  if (known) return known;
  for (const pair of [
    ['value-a', 'value-b'],
    ['30', '60'],
  ] as [string, string][]) {
    try {
      for (const v of pair) parseFlags([`--${name}=${v}`], {});
      return pair;
    } catch {}
  }
  throw new Error(`no sample values for --${name}`);
}

describe('parseFlags: defaults', () => {
  test('with no flags and an empty environment, kubebuilder defaults apply', () => {
    const flags = parseFlags([], {});
    assert.equal(flags.metricsBindAddress, '0', 'off unless asked for, as kubebuilder scaffolds it');
    assert.equal(flags.metricsSecure, true);
    assert.equal(flags.metricsCertDir, undefined);
    assert.equal(flags.healthProbeBindAddress, ':8081');
    assert.equal(flags.leaderElect, false);
    assert.equal(flags.leaderElectionNamespace, undefined);
    assert.equal(flags.leaderElectionId, 'elasticweb-operator.elasticweb.example.com');
    assert.equal(flags.maxConcurrentReconciles, 5);
    assert.equal(flags.namespace, undefined);
    assert.equal(flags.kubeconfig, undefined);
    assert.equal(flags.logLevel, 'info');
    assert.equal(flags.logFormat, 'json');
    assert.equal(flags.help, false);
  });

  test('the process environment is not read when an environment is passed', () => {
    const saved = process.env.LOG_LEVEL;
    process.env.LOG_LEVEL = 'error';
    try {
      assert.equal(parseFlags([], {}).logLevel, 'info');
    } finally {
      if (saved === undefined) delete process.env.LOG_LEVEL;
      else process.env.LOG_LEVEL = saved;
    }
  });
});

describe('parseFlags: flags and environment variables', () => {
  const strings = flagSpecs.filter((f) => f.type === 'string');

  for (const spec of strings) {
    test(`--${spec.name} can be given as a flag or as ${spec.env}, and the flag wins`, () => {
      const [a, b] = twoValues(spec.name);
      const byFlag = parseFlags([`--${spec.name}=${a}`], {});
      assert.deepEqual(parseFlags([], { [spec.env]: a }), byFlag, 'the env var means the same as the flag');
      assert.notDeepEqual(byFlag, parseFlags([`--${spec.name}=${b}`], {}), 'the value is used');
      assert.deepEqual(
        parseFlags([`--${spec.name}=${b}`], { [spec.env]: a }),
        parseFlags([`--${spec.name}=${b}`], {}),
        'the flag wins over the env var',
      );
      assert.deepEqual(parseFlags([`--${spec.name}`, b], {}), parseFlags([`--${spec.name}=${b}`], {}));
    });
  }

  test('string values land in the right fields', () => {
    const flags = parseFlags(
      [
        '--metrics-bind-address=127.0.0.1:9000',
        '--metrics-cert-dir=/etc/metrics-certs',
        '--health-probe-bind-address=0',
        '--leader-election-namespace=ops',
        '--leader-election-id=my-lease',
        '--max-concurrent-reconciles=12',
        '--namespace=team-a',
        '--kubeconfig=/tmp/kc',
        '--log-level=debug',
        '--log-format=text',
      ],
      {},
    );
    assert.equal(flags.metricsBindAddress, '127.0.0.1:9000');
    assert.equal(flags.metricsCertDir, '/etc/metrics-certs');
    assert.equal(flags.healthProbeBindAddress, '0');
    assert.equal(flags.leaderElectionNamespace, 'ops');
    assert.equal(flags.leaderElectionId, 'my-lease');
    assert.equal(flags.maxConcurrentReconciles, 12);
    assert.equal(flags.namespace, 'team-a');
    assert.equal(flags.kubeconfig, '/tmp/kc');
    assert.equal(flags.logLevel, 'debug');
    assert.equal(flags.logFormat, 'text');
  });

  test('WATCH_NAMESPACE and KUBECONFIG are the env vars of --namespace and --kubeconfig', () => {
    const flags = parseFlags([], { WATCH_NAMESPACE: 'team-b', KUBECONFIG: '/etc/kc' });
    assert.equal(flags.namespace, 'team-b');
    assert.equal(flags.kubeconfig, '/etc/kc');
  });

  test('--leader-elect turns leader election on, and LEADER_ELECT accepts true/1/yes and false/0/no', () => {
    assert.equal(parseFlags(['--leader-elect'], {}).leaderElect, true);
    for (const v of ['true', 'TRUE', '1', 'yes', 'Yes'])
      assert.equal(parseFlags([], { LEADER_ELECT: v }).leaderElect, true, v);
    for (const v of ['false', 'False', '0', 'no', ''])
      assert.equal(parseFlags([], { LEADER_ELECT: v }).leaderElect, false, v);
    assert.equal(
      parseFlags(['--leader-elect'], { LEADER_ELECT: 'false' }).leaderElect,
      true,
      'the flag wins',
    );
  });

  test('--leader-elect=false on the command line overrides LEADER_ELECT=true (the flag wins, as with Go flags)', () => {
    assert.equal(parseFlags(['--leader-elect=false'], { LEADER_ELECT: 'true' }).leaderElect, false);
  });

  test('--metrics-secure is on by default; --metrics-secure=false or METRICS_SECURE=false turns it off; the flag wins', () => {
    assert.equal(parseFlags([], {}).metricsSecure, true);
    assert.equal(parseFlags(['--metrics-secure=false'], {}).metricsSecure, false);
    assert.equal(parseFlags([], { METRICS_SECURE: 'false' }).metricsSecure, false);
    assert.equal(parseFlags([], { METRICS_SECURE: '0' }).metricsSecure, false);
    assert.equal(parseFlags(['--metrics-secure'], { METRICS_SECURE: 'false' }).metricsSecure, true);
    assert.equal(parseFlags(['--metrics-secure=true'], { METRICS_SECURE: 'no' }).metricsSecure, true);
    assert.equal(parseFlags(['--metrics-secure=false'], { METRICS_SECURE: 'true' }).metricsSecure, false);
    assert.throws(
      () => parseFlags([], { METRICS_SECURE: 'sometimes' }),
      /--metrics-secure must be true or false/,
    );
  });

  test('METRICS_CERT_DIR is the env var of --metrics-cert-dir; empty means self-signed', () => {
    assert.equal(parseFlags([], { METRICS_CERT_DIR: '/certs' }).metricsCertDir, '/certs');
    assert.equal(parseFlags([], { METRICS_CERT_DIR: '' }).metricsCertDir, undefined);
  });

  test('--help is recognised', () => {
    assert.equal(parseFlags(['--help'], {}).help, true);
  });
});

describe('parseFlags: autopilot', () => {
  test('--prometheus-url is absent by default, and must be an http(s) URL', () => {
    assert.equal(parseFlags([], {}).prometheusUrl, undefined);
    assert.equal(parseFlags([], { PROMETHEUS_URL: 'http://p:9090' }).prometheusUrl, 'http://p:9090');
    assert.throws(() => parseFlags(['--prometheus-url=p:9090'], {}), /--prometheus-url must be an http/);
  });

  test('--autoscaling-interval is 10 s by default, from 1 to 3600', () => {
    assert.equal(parseFlags([], {}).autoscalingIntervalSeconds, 10);
    assert.equal(parseFlags(['--autoscaling-interval=2.5'], {}).autoscalingIntervalSeconds, 2.5);
    assert.throws(() => parseFlags(['--autoscaling-interval=0'], {}), /--autoscaling-interval must be/);
    assert.throws(() => parseFlags(['--autoscaling-interval=soon'], {}), /--autoscaling-interval must be/);
  });
});

describe('parseFlags: bad input', () => {
  test('a bad LEADER_ELECT names the flag and the value', () => {
    assert.throws(
      () => parseFlags([], { LEADER_ELECT: 'maybe' }),
      /--leader-elect must be true or false, not "maybe"/,
    );
  });

  test('--max-concurrent-reconciles must be an integer from 1 to 1000', () => {
    for (const v of ['0', '1001', '-3', 'abc', '2.5', '']) {
      assert.throws(
        () => parseFlags([`--max-concurrent-reconciles=${v}`], {}),
        new RegExp(`--max-concurrent-reconciles must be an integer from 1 to 1000, not "${v}"`),
        v,
      );
    }
    assert.equal(parseFlags(['--max-concurrent-reconciles=1'], {}).maxConcurrentReconciles, 1);
    assert.equal(parseFlags(['--max-concurrent-reconciles=1000'], {}).maxConcurrentReconciles, 1000);
    assert.throws(() => parseFlags([], { MAX_CONCURRENT_RECONCILES: 'lots' }), /not "lots"/);
  });

  test('--watch-timeout is a whole number of seconds, at least 1, and absent by default', {
    skip: !flagSpecs.some((f) => f.name === 'watch-timeout') && 'no --watch-timeout flag',
  }, () => {
    const seconds = (argv: string[]) =>
      (parseFlags(argv, {}) as unknown as Record<string, unknown>).watchTimeoutSeconds;
    assert.equal(seconds([]), undefined);
    assert.equal(seconds(['--watch-timeout=30']), 30);
    for (const v of ['0', '-1', '1.5', 'soon']) {
      assert.throws(
        () => parseFlags([`--watch-timeout=${v}`], {}),
        new RegExp(`--watch-timeout .*"${v}"`),
        v,
      );
    }
  });

  test('--log-level must be a known level and --log-format json or text', () => {
    assert.throws(() => parseFlags(['--log-level=verbose'], {}), /--log-level must be one of .*debug.*info/);
    assert.throws(() => parseFlags([], { LOG_LEVEL: 'loud' }), /--log-level must be one of/);
    assert.throws(() => parseFlags(['--log-format=yaml'], {}), /--log-format must be json or text/);
  });

  test('an unknown flag, a positional argument or a missing value is refused, naming the culprit', () => {
    assert.throws(() => parseFlags(['--metrics-addr=:8080'], {}), /--metrics-addr/);
    assert.throws(() => parseFlags(['extra'], {}), /extra/);
    assert.throws(() => parseFlags(['--namespace'], {}), /--namespace/);
  });
});

describe('usage', () => {
  test('lists every flag with its environment variable, and --help', () => {
    const text = usage();
    for (const spec of flagSpecs) {
      assert.ok(text.includes(`--${spec.name}`), `--${spec.name} is listed`);
      assert.ok(text.includes(`env: ${spec.env}`), `${spec.env} is listed`);
      if (spec.default !== '')
        assert.ok(text.includes(`(default ${spec.default})`), `default of --${spec.name}`);
    }
    assert.match(text, /--help/);
  });

  test('every flag parseFlags accepts is documented, and every documented flag is accepted', () => {
    const documented = [...usage().matchAll(/^ {2}--([a-z-]+)/gm)].map((m) => m[1]);
    assert.deepEqual(documented.sort(), [...flagSpecs.map((f) => f.name), 'help'].sort());
    for (const spec of flagSpecs) {
      const argv =
        spec.type === 'boolean' ? [`--${spec.name}`] : [`--${spec.name}=${twoValues(spec.name)[0]}`];
      assert.doesNotThrow(() => parseFlags(argv, {}), `--${spec.name}`);
    }
  });

  test('environment variable names are unique', () => {
    const envs = flagSpecs.map((f) => f.env);
    assert.equal(new Set(envs).size, envs.length);
  });
});
