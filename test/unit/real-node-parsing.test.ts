/**
 * The real node's pure parts: which cgroup v1 hierarchies a process is in (from /proc texts, here
 * as this kind of machine shows them), and whether an address range overlaps the pod network.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHierarchies } from '../../hack/cluster/real-node/cgroups.ts';
import { overlaps } from '../../hack/cluster/real-node/cni.ts';

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
