// Parses /proc/<pid>/mountinfo (proc(5)): which mounts a process sees and with which options.
//   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//   id parent maj:min root mountpoint per-mount-options [optional…] - fstype source super-options
// Paths are octal-escaped (\040 for a space). A later mount on the same point shadows earlier
// ones, so the last entry for a point is the one the process sees.

export interface Mount {
  root: string; // the part of the filesystem mounted here (a cgroup path for cgroup mounts)
  point: string;
  options: string[]; // per-mount: ro/rw, nosuid, noexec, …
  fstype: string;
  source: string;
  superOptions: string[]; // per-filesystem: ro/rw, and a v1 cgroup's controllers
}

export function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-', 6);
    if (dash < 0 || f.length < dash + 3) continue; // malformed: skip, never guess
    mounts.push({
      root: unescapeMountPath(f[3]!),
      point: unescapeMountPath(f[4]!),
      options: f[5]!.split(','),
      fstype: f[dash + 1]!,
      source: unescapeMountPath(f[dash + 2]!),
      superOptions: (f[dash + 3] ?? '').split(','),
    });
  }
  return mounts;
}

/** The mounts the process sees: the last entry for each mount point. */
export function visibleMounts(mounts: Mount[]): Mount[] {
  const byPoint = new Map<string, Mount>();
  for (const m of mounts) {
    byPoint.delete(m.point); // keep mount order, but the latest entry wins
    byPoint.set(m.point, m);
  }
  return [...byPoint.values()];
}

export function isReadOnly(m: Mount): boolean {
  return m.options.includes('ro') || m.superOptions.includes('ro');
}

/** The visible mount a path lives on: the longest mount point that is a prefix of it. */
export function mountOf(mounts: Mount[], path: string): Mount | undefined {
  let best: Mount | undefined;
  for (const m of mounts) {
    const inside = m.point === '/' || path === m.point || path.startsWith(m.point + '/');
    if (inside && (best === undefined || m.point.length >= best.point.length)) best = m;
  }
  return best;
}

/** Kernel interfaces, not places a process keeps files: left out of the writable-and-exec check. */
export const PSEUDO_FS = new Set([
  'proc', 'sysfs', 'cgroup', 'cgroup2', 'devpts', 'mqueue', 'securityfs', 'debugfs', 'tracefs',
  'bpf', 'pstore', 'configfs', 'fusectl', 'binfmt_misc', 'autofs', 'nsfs', 'rpc_pipefs',
  'efivarfs', 'selinuxfs', 'hugetlbfs',
]);

/** Paths the reader stats and access(W_OK)-checks: /etc/passwd, every writable non-pseudo mount
 * point, and the usual world-writable directories (on a writable root they are where a
 * non-root process can write). */
export function pathsToProbe(mountinfo: string | undefined): string[] {
  const paths = new Set(['/etc/passwd', '/tmp', '/var/tmp', '/dev/shm', '/run/lock']);
  if (mountinfo !== undefined) {
    for (const m of visibleMounts(parseMountinfo(mountinfo))) {
      if (!PSEUDO_FS.has(m.fstype) && !isReadOnly(m)) paths.add(m.point);
    }
  }
  return [...paths];
}
