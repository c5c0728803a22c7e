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

/**
 * The fields of each line, as raw bytes still escaped. Bytes, not text: a mount point need not
 * be UTF-8, and the remap's walk must match it byte for byte.
 */
export function mountinfoFields(text: Buffer | string): Buffer[][] {
  const buf = typeof text === 'string' ? Buffer.from(text) : text;
  const lines: Buffer[][] = [];
  let start = 0;
  while (start < buf.length) {
    let end = buf.indexOf(0x0a, start);
    if (end < 0) end = buf.length;
    const fields: Buffer[] = [];
    for (let i = start; i <= end; ) {
      let j = buf.indexOf(0x20, i);
      if (j < 0 || j > end) j = end;
      fields.push(buf.subarray(i, j));
      i = j + 1;
    }
    lines.push(fields);
    start = end + 1;
  }
  return lines;
}

/** Undoes the kernel's \ooo escapes (space, tab, newline, backslash); every other byte is raw. */
export function unescapeOctal(b: Buffer): Buffer {
  if (!b.includes(0x5c)) return b;
  const out: number[] = [];
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    const oct = b.subarray(i + 1, i + 4).toString('latin1');
    if (c === 0x5c && /^[0-3][0-7]{2}$/.test(oct)) {
      out.push(parseInt(oct, 8));
      i += 3;
    } else out.push(c);
  }
  return Buffer.from(out);
}

/** Mount points (field 5) as raw bytes, unescaped; lines too short to have one are skipped. */
export function mountPoints(text: Buffer | string): Buffer[] {
  const out: Buffer[] = [];
  for (const f of mountinfoFields(text)) if (f.length >= 5) out.push(unescapeOctal(f[4]!));
  return out;
}

const decoded = (b: Buffer): string => unescapeOctal(b).toString('utf8');

export function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const fb of mountinfoFields(text)) {
    const f = fb.map((b) => b.toString('latin1')); // only to find the separator and check the shape
    const dash = f.indexOf('-', 6);
    if (dash < 0 || f.length < dash + 3) continue; // malformed: skip, never guess
    mounts.push({
      root: decoded(fb[3]!),
      point: decoded(fb[4]!),
      options: fb[5]!.toString('utf8').split(','),
      fstype: fb[dash + 1]!.toString('utf8'),
      source: decoded(fb[dash + 2]!),
      superOptions: (fb[dash + 3]?.toString('utf8') ?? '').split(','),
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
