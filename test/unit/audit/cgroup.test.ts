// Finding a process's cgroup directories (v1, v2, hybrid, namespaced, odd paths) and reading
// the limits in force there.
import { describe, expect, it } from 'vitest';
import { type FileText, cgroupFiles, cgroupPlace, cpuLimit, memoryLimit, pidsLimit } from '../../../src/audit/cgroup.js';
import { loadFixture } from '../../helpers/audit-fixture.js';

const line = (id: number, root: string, point: string, fstype: string, superOpts: string) =>
  `${id} 1 0:${id} ${root} ${point} rw,nosuid,nodev,noexec,relatime - ${fstype} ${fstype} ${superOpts}`;

describe('cgroupPlace', () => {
  it('v1 in Docker (host cgroup namespace): the mount root is the container cgroup, so the mount point is the directory', () => {
    const input = loadFixture('v1-docker-root');
    const place = cgroupPlace(input.files['/proc/self/cgroup'] as string, input.files['/proc/self/mountinfo'] as string, 'memory');
    expect(place).toEqual({ version: 1, dirs: ['/sys/fs/cgroup/memory'], root: false });
  });

  it('v1 on a host: the process path below the mount, each parent up to the mount point', () => {
    const mi = line(31, '/', '/sys/fs/cgroup/memory', 'cgroup', 'rw,memory');
    expect(cgroupPlace('4:memory:/a/b\n', mi, 'memory')).toEqual({ version: 1, dirs: ['/sys/fs/cgroup/memory/a/b', '/sys/fs/cgroup/memory/a', '/sys/fs/cgroup/memory'], root: false });
  });

  it('v1 co-mounted controllers (cpu,cpuacct) are found by either name, and cpuset is not cpu', () => {
    const mi = [line(30, '/', '/sys/fs/cgroup/cpuset', 'cgroup', 'rw,cpuset'), line(31, '/', '/sys/fs/cgroup/cpu,cpuacct', 'cgroup', 'rw,cpu,cpuacct')].join('\n');
    expect(cgroupPlace('3:cpuset:/\n2:cpu,cpuacct:/x\n', mi, 'cpu')?.dirs[0]).toBe('/sys/fs/cgroup/cpu,cpuacct/x');
  });

  it('a path outside the mount root (a moved or namespaced cgroup) falls back to the mount point', () => {
    expect(cgroupPlace('4:memory:/elsewhere\n', line(31, '/docker/abc', '/sys/fs/cgroup/memory', 'cgroup', 'rw,memory'), 'memory')?.dirs).toEqual(['/sys/fs/cgroup/memory']);
    expect(cgroupPlace('0::/../../system.slice/x\n', line(40, '/', '/sys/fs/cgroup', 'cgroup2', 'rw'), 'memory')?.dirs).toEqual(['/sys/fs/cgroup']);
  });

  it('hybrid: v1 controllers win over the unified mount; a controller v1 lacks falls to v2', () => {
    const input = loadFixture('v1-hybrid-host');
    const [cg, mi] = [input.files['/proc/self/cgroup'] as string, input.files['/proc/self/mountinfo'] as string];
    expect(cgroupPlace(cg, mi, 'memory')?.version).toBe(1);
    const noPidsV1 = cg.replace(/^8:pids:.*\n/m, '');
    expect(cgroupPlace(noPidsV1, mi, 'pids')).toEqual({ version: 2, dirs: ['/sys/fs/cgroup/unified'], root: true });
  });

  it('nothing to go on: no cgroup file, an empty one (gVisor), no mount', () => {
    expect(cgroupPlace(undefined, '', 'memory')).toBeUndefined();
    expect(cgroupPlace('', line(40, '/', '/sys/fs/cgroup', 'cgroup2', 'rw'), 'memory')).toBeUndefined();
    expect(cgroupPlace('0::/\n', '', 'memory')).toBeUndefined();
  });

  it('cgroupFiles names what the limit functions read', () => {
    const input = loadFixture('v1-docker-root');
    expect(cgroupFiles(input.files['/proc/self/cgroup'] as string, input.files['/proc/self/mountinfo'] as string)).toEqual([
      '/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/memory/memory.stat', '/sys/fs/cgroup/pids/pids.max',
      '/sys/fs/cgroup/cpu/cpu.cfs_quota_us', '/sys/fs/cgroup/cpu/cpu.cfs_period_us',
    ]);
  });
});

describe('limits', () => {
  const v1 = (dirs: string[]) => ({ version: 1 as const, dirs, root: false });
  const v2 = (dirs: string[], root = false) => ({ version: 2 as const, dirs, root });

  it("v1 memory: LONG_MAX-ish is no limit; a parent's smaller limit binds; hierarchical_memory_limit covers ancestors above the mount", () => {
    const files: Record<string, FileText> = { '/m/a/memory.limit_in_bytes': '9223372036854771712\n', '/m/memory.limit_in_bytes': '1073741824\n' };
    expect(memoryLimit(v1(['/m/a', '/m']), files)).toEqual({ kind: 'limit', value: 1073741824, source: '/m' });
    expect(memoryLimit(v1(['/m/a']), files)).toEqual({ kind: 'none' });
    files['/m/a/memory.stat'] = 'cache 0\nhierarchical_memory_limit 536870912\nhierarchical_memsw_limit 9223372036854771712\n';
    expect(memoryLimit(v1(['/m/a', '/m']), files)).toEqual({ kind: 'limit', value: 536870912, source: '/m/a/memory.stat' });
  });

  it('v2: "max" is no limit, numbers are limits, cpu.max without a period uses 100000', () => {
    const files: Record<string, FileText> = { '/c/x/memory.max': 'max\n', '/c/x/pids.max': 'max\n', '/c/x/cpu.max': '150000\n', '/c/memory.max': '2147483648\n' };
    expect(memoryLimit(v2(['/c/x', '/c']), files)).toMatchObject({ kind: 'limit', value: 2147483648 });
    expect(pidsLimit(v2(['/c/x']), files)).toEqual({ kind: 'none' });
    expect(cpuLimit(v2(['/c/x']), files)).toMatchObject({ kind: 'limit', value: 1.5 });
    expect(cpuLimit(v2(['/c/x']), { '/c/x/cpu.max': 'max 100000\n' })).toEqual({ kind: 'none' });
  });

  it('v1 cpu: quota -1 is no limit; quota/period otherwise; a zero period is ignored', () => {
    expect(cpuLimit(v1(['/c']), { '/c/cpu.cfs_quota_us': '-1\n', '/c/cpu.cfs_period_us': '100000\n' })).toEqual({ kind: 'none' });
    expect(cpuLimit(v1(['/c']), { '/c/cpu.cfs_quota_us': '25000\n', '/c/cpu.cfs_period_us': '100000\n' })).toMatchObject({ value: 0.25 });
    expect(cpuLimit(v1(['/c']), { '/c/cpu.cfs_quota_us': '25000\n', '/c/cpu.cfs_period_us': '0\n' }).kind).toBe('unknown');
  });

  it('no files: the root cgroup means no limit; a v2 controller not enabled means no limit; unreadable means unknown', () => {
    expect(pidsLimit(v1(['/p']), {})).toEqual({ kind: 'unknown', note: 'no pids limit files' });
    expect(pidsLimit({ version: 1, dirs: ['/p'], root: true }, {})).toEqual({ kind: 'none', note: 'root cgroup' });
    expect(memoryLimit(v2(['/c/x', '/c']), { '/c/x/cgroup.controllers': 'cpu pids\n' })).toEqual({ kind: 'none', note: 'the memory controller is not enabled for this cgroup' });
    expect(memoryLimit(v2(['/c'], true), { '/c/memory.max': { errno: 'EACCES' } })).toEqual({ kind: 'unknown', note: 'cannot read the memory cgroup files (EACCES)' });
    expect(pidsLimit(v1(['/p']), { '/p/pids.max': 'garbage\n' }).kind).toBe('unknown');
    expect(memoryLimit(undefined, {})).toMatchObject({ kind: 'unknown' });
  });
});
