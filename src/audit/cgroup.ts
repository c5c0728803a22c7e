// Where a process's cgroup limits live and what they say, for cgroup v1, v2 and the hybrid
// layout (v1 controllers plus an empty v2 "unified" mount). Pure: the reader reads the files
// cgroupFiles() names, and the limit functions look them up again.
//
// A controller's directory is found the way runc and the JVM do it: /proc/self/cgroup gives the
// process's cgroup path P, mountinfo gives a mount of that hierarchy with root R at point M, and
// the directory is M + (P without R). When P is not below R (a cgroup namespace, a path moved
// out from under the mount) the mount point itself is used. The limit in force is the smallest
// one between that directory and the mount point: a parent's limit binds its children.
import { type Mount, parseMountinfo, visibleMounts } from '../system/mountinfo.js';

export type Controller = 'memory' | 'pids' | 'cpu';

export interface CgroupPlace {
  version: 1 | 2;
  dirs: string[]; // the process's cgroup directory first, then each parent up to the mount point
  root: boolean; // the process is in the hierarchy's root cgroup, which has no limit files
}

export type FileText = string | { errno: string };

interface Membership {
  v1: Map<string, string>; // controller → path
  v2: string | undefined;
}

function memberships(cgroupText: string): Membership {
  const v1 = new Map<string, string>();
  let v2: string | undefined;
  for (const line of cgroupText.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, id, controllers, path] = m as unknown as [string, string, string, string];
    if (id === '0' && controllers === '') v2 = path;
    else for (const c of controllers.split(',')) if (c) v1.set(c, path);
  }
  return { v1, v2 };
}

function dirsFor(mount: Mount, path: string): string[] {
  const root = mount.root === '/' ? '' : mount.root.replace(/\/+$/, '');
  let rel = '';
  if (path === root || path.startsWith(root + '/')) rel = path.slice(root.length);
  const base = mount.point.replace(/\/+$/, '');
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return [mount.point]; // outside the mount: only the mount point is ours to read
  const dirs: string[] = [];
  for (let n = parts.length; n >= 0; n--) dirs.push(base + (n > 0 ? '/' + parts.slice(0, n).join('/') : '') || '/');
  return dirs;
}

/** Where the controller's files are for this process, or undefined if no hierarchy has it. */
export function cgroupPlace(cgroupText: string | undefined, mountinfoText: string | undefined, controller: Controller): CgroupPlace | undefined {
  if (cgroupText === undefined || mountinfoText === undefined) return undefined;
  const member = memberships(cgroupText);
  const mounts = visibleMounts(parseMountinfo(mountinfoText));
  const v1Path = member.v1.get(controller);
  const v1Mount = mounts.find((m) => m.fstype === 'cgroup' && m.superOptions.includes(controller));
  if (v1Path !== undefined && v1Mount) return { version: 1, dirs: dirsFor(v1Mount, v1Path), root: v1Path === '/' && v1Mount.root === '/' };
  const v2Mount = mounts.find((m) => m.fstype === 'cgroup2');
  if (member.v2 !== undefined && v2Mount) return { version: 2, dirs: dirsFor(v2Mount, member.v2), root: member.v2 === '/' && v2Mount.root === '/' };
  return undefined;
}

const FILES: Record<Controller, { 1: string[]; 2: string[] }> = {
  memory: { 1: ['memory.limit_in_bytes'], 2: ['memory.max'] },
  pids: { 1: ['pids.max'], 2: ['pids.max'] },
  cpu: { 1: ['cpu.cfs_quota_us', 'cpu.cfs_period_us'], 2: ['cpu.max'] },
};

/** Every cgroup file the limit functions may look at. */
export function cgroupFiles(cgroupText: string | undefined, mountinfoText: string | undefined): string[] {
  const out: string[] = [];
  for (const c of ['memory', 'pids', 'cpu'] as const) {
    const place = cgroupPlace(cgroupText, mountinfoText, c);
    if (!place) continue;
    for (const dir of place.dirs) for (const f of FILES[c][place.version]) out.push(`${dir}/${f}`);
    if (place.version === 1 && c === 'memory') out.push(`${place.dirs[0]}/memory.stat`);
    if (place.version === 2) out.push(`${place.dirs[0]}/cgroup.controllers`);
  }
  return out;
}

/** A limit: a number (bytes, tasks, CPUs), none, or nothing readable. */
export type Limit =
  | { kind: 'limit'; value: number; source: string }
  | { kind: 'none'; note?: string }
  | { kind: 'unknown'; note: string };

// v1 writes "no limit" as LONG_MAX rounded down to a page (9223372036854771712); anything this
// large is no limit on any machine.
const V1_UNLIMITED = 2 ** 62;

function text(files: Record<string, FileText>, path: string): string | undefined {
  const t = files[path];
  return typeof t === 'string' ? t.trim() : undefined;
}

/** The smallest value over the directories; parse gives a number, Infinity for "max", or undefined. */
function smallest(place: CgroupPlace, files: Record<string, FileText>, controller: Controller, parse: (dir: string) => number | undefined): Limit {
  let best: Limit | undefined;
  for (const dir of place.dirs) {
    const v = parse(dir);
    if (v === undefined) continue;
    if (v === Infinity) best ??= { kind: 'none' };
    else if (best === undefined || best.kind !== 'limit' || v < best.value) best = { kind: 'limit', value: v, source: dir };
  }
  if (best) return best;
  // Nothing readable. If the files are simply absent (not EACCES or the like), that is the root
  // cgroup, which has no limit files, or (v2) a cgroup the controller is not enabled for.
  const names = place.dirs.flatMap((dir) => FILES[controller][place.version].map((f) => `${dir}/${f}`));
  const error = names.map((n) => files[n]).find((t) => typeof t === 'object');
  if (error) return { kind: 'unknown', note: `cannot read the ${controller} cgroup files (${error.errno})` };
  if (place.root && place.dirs.length === 1) return { kind: 'none', note: 'root cgroup' };
  const controllers = place.version === 2 ? text(files, `${place.dirs[0]}/cgroup.controllers`) : undefined;
  if (controllers !== undefined && !controllers.split(/\s+/).includes(controller)) {
    return { kind: 'none', note: `the ${controller} controller is not enabled for this cgroup` };
  }
  return { kind: 'unknown', note: `no ${controller} limit files` };
}

function num(s: string | undefined): number | undefined {
  return s !== undefined && /^\d+$/.test(s) ? Number(s) : undefined;
}

export function memoryLimit(place: CgroupPlace | undefined, files: Record<string, FileText>): Limit {
  if (!place) return { kind: 'unknown', note: 'no memory cgroup' };
  const limit = smallest(place, files, 'memory', (dir) => {
    const t = text(files, `${dir}/${place.version === 1 ? 'memory.limit_in_bytes' : 'memory.max'}`);
    if (t === 'max') return Infinity;
    const n = num(t);
    return n !== undefined && place.version === 1 && n >= V1_UNLIMITED ? Infinity : n;
  });
  if (place.version === 1) {
    // v1 sums up the ancestors above the mount (invisible in a container) as hierarchical_memory_limit
    const stat = text(files, `${place.dirs[0]}/memory.stat`);
    const h = num(stat === undefined ? undefined : /^hierarchical_memory_limit (\d+)$/m.exec(stat)?.[1]);
    if (h !== undefined && h < V1_UNLIMITED && (limit.kind !== 'limit' || h < limit.value)) {
      return { kind: 'limit', value: h, source: `${place.dirs[0]}/memory.stat` };
    }
  }
  return limit;
}

export function pidsLimit(place: CgroupPlace | undefined, files: Record<string, FileText>): Limit {
  if (!place) return { kind: 'unknown', note: 'no pids cgroup' };
  return smallest(place, files, 'pids', (dir) => {
    const t = text(files, `${dir}/pids.max`);
    return t === 'max' ? Infinity : num(t);
  });
}

/** CPU quota as a number of CPUs (quota / period). */
export function cpuLimit(place: CgroupPlace | undefined, files: Record<string, FileText>): Limit {
  if (!place) return { kind: 'unknown', note: 'no cpu cgroup' };
  return smallest(place, files, 'cpu', (dir) => {
    let quota: string | undefined;
    let period: string | undefined;
    if (place.version === 1) {
      quota = text(files, `${dir}/cpu.cfs_quota_us`);
      period = text(files, `${dir}/cpu.cfs_period_us`);
      if (quota === '-1') return Infinity;
    } else {
      const t = text(files, `${dir}/cpu.max`);
      if (t === undefined) return undefined;
      [quota, period = '100000'] = t.split(/\s+/);
      if (quota === 'max') return Infinity;
    }
    const q = num(quota);
    const p = num(period);
    return q === undefined || p === undefined || p === 0 ? undefined : q / p;
  });
}
