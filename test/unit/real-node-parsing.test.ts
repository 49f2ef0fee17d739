/**
 * The real node's pure parts: which cgroup v1 hierarchies a process is in (from /proc texts, here
 * as this kind of machine shows them), whether an address range overlaps the pod network, and what
 * kube-proxy programmed for a Service (from iptables-save text).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHierarchies } from '../../hack/cluster/real-node/cgroups.ts';
import { overlaps } from '../../hack/cluster/real-node/cni.ts';
import { serviceRules } from '../../hack/cluster/real-node/proxy-rules.ts';

const cgroup = `9:name=systemd:/
8:pids:/
4:memory:/process_api/fa74
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
`;
const mountinfo = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
38 31 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
39 31 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
40 31 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
41 31 0:38 / /sys/fs/cgroup/net_cls rw,relatime - cgroup cgroup rw,net_cls
`;

test('each v1 hierarchy with this process cgroup in it; cgroup2 and hierarchies it is not in are left out', () => {
  assert.deepEqual(parseHierarchies(cgroup, mountinfo), [
    { mountPoint: '/sys/fs/cgroup/cpu', name: 'cpu', options: 'rw,cpu', ownPath: '/' },
    { mountPoint: '/sys/fs/cgroup/cpuacct', name: 'cpuacct', options: 'rw,cpuacct', ownPath: '/' },
    { mountPoint: '/sys/fs/cgroup/cpuset', name: 'cpuset', options: 'rw,cpuset', ownPath: '/' },
    {
      mountPoint: '/sys/fs/cgroup/memory',
      name: 'memory',
      options: 'rw,memory',
      ownPath: '/process_api/fa74',
    },
    { mountPoint: '/sys/fs/cgroup/pids', name: 'pids', options: 'rw,pids', ownPath: '/' },
    { mountPoint: '/sys/fs/cgroup/systemd', name: 'systemd', options: 'rw,xattr,name=systemd', ownPath: '/' },
  ]);
});

test('co-mounted controllers match in any order', () => {
  const h = parseHierarchies(
    '5:cpuacct,cpu:/a\n',
    '30 23 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n',
  );
  assert.deepEqual(h, [
    {
      mountPoint: '/sys/fs/cgroup/cpu,cpuacct',
      name: 'cpu,cpuacct',
      options: 'rw,cpu,cpuacct',
      ownPath: '/a',
    },
  ]);
});

test('overlap with the pod network 10.77.0.0/24', () => {
  const pods = '10.77.0.0/24';
  assert.equal(overlaps('10.77.0.1', pods), true);
  assert.equal(overlaps('10.77.0.0/16', pods), true);
  assert.equal(overlaps('10.0.0.0/8', pods), true);
  assert.equal(overlaps('10.77.0.128/25', pods), true);
  assert.equal(overlaps('10.77.1.0/24', pods), false);
  assert.equal(overlaps('192.0.2.0/24', pods), false);
  assert.equal(overlaps('0.0.0.0/0', pods), true);
  assert.equal(overlaps('fd00::/64', pods), false);
});

// kube-proxy 1.37's rules for one Service of three pods, as iptables-save printed them on the real node,
// and the filter table's refusal it writes for a Service with no endpoints.
const rules = `*nat
-A KUBE-NODEPORTS -p tcp -m comment --comment "p/web:http" -m tcp --dport 30200 -j KUBE-EXT-TDW3UCN7SAAR3OGA
-A KUBE-SEP-C3ZJ2PVEBOY5HGSC -p tcp -m comment --comment "p/web:http" -m tcp -j DNAT --to-destination 10.77.0.4:80
-A KUBE-SVC-TDW3UCN7SAAR3OGA ! -s 10.77.0.0/24 -d 10.96.244.97/32 -p tcp -m comment --comment "p/web:http cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ
-A KUBE-SVC-TDW3UCN7SAAR3OGA -m comment --comment "p/web:http -> 10.77.0.2:80" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-C4ZWC5WS4CNCUN3S
-A KUBE-SVC-TDW3UCN7SAAR3OGA -m comment --comment "p/web:http -> 10.77.0.3:80" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-CBQTOBAS2DC2PJYQ
-A KUBE-SVC-TDW3UCN7SAAR3OGA -m comment --comment "p/web:http -> 10.77.0.4:80" -j KUBE-SEP-C3ZJ2PVEBOY5HGSC
-A KUBE-SVC-AAAAAAAAAAAAAAAA -m comment --comment "p/web-two:http -> 10.77.0.9:80" -j KUBE-SEP-BBBBBBBBBBBBBBBB
-A KUBE-SVC-CCCCCCCCCCCCCCCC -m comment --comment "p/we -> 10.77.0.7:80" -j KUBE-SEP-DDDDDDDDDDDDDDDD
COMMIT
*filter
-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment "p/gone:http has no endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 30201 -j REJECT --reject-with icmp-port-unreachable
-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment "p/bare has no endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 30202 -j REJECT --reject-with icmp-port-unreachable
COMMIT
`;

test("a Service's rules: the endpoints are its KUBE-SVC chain's jumps, and a refusal is its no-endpoints REJECT", () => {
  assert.deepEqual(serviceRules(rules, 'p', 'web'), {
    endpoints: ['10.77.0.2:80', '10.77.0.3:80', '10.77.0.4:80'],
    rejected: false,
  });
  assert.deepEqual(serviceRules(rules, 'p', 'web-two'), { endpoints: ['10.77.0.9:80'], rejected: false });
  assert.deepEqual(serviceRules(rules, 'p', 'gone'), { endpoints: [], rejected: true });
  assert.deepEqual(serviceRules(rules, 'q', 'web'), { endpoints: [], rejected: false });
});

test('a Service whose port has no name: kube-proxy comments it as `ns/name` alone', () => {
  assert.deepEqual(serviceRules(rules, 'p', 'we'), { endpoints: ['10.77.0.7:80'], rejected: false });
  assert.deepEqual(serviceRules(rules, 'p', 'bare'), { endpoints: [], rejected: true });
});
