// The mount points this process sees, from /proc/self/mountinfo, keyed so that paths whose bytes
// are not UTF-8 compare exactly.
import * as fs from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { mountPoints } from '../system/mountinfo.js';

/**
 * How a path is keyed in the mount-point set: the string itself when the bytes are UTF-8,
 * otherwise NUL + the bytes as latin1 (a UTF-8 path never starts with NUL, so keys never collide).
 */
export function mountKey(p: string | Buffer): string {
  if (typeof p === 'string') return p;
  return isUtf8(p) ? p.toString('utf8') : '\0' + p.toString('latin1');
}

/** Mount points (field 5) of /proc/self/mountinfo text, keyed as mountKey does. */
export function parseMountInfo(text: Buffer | string): string[] {
  return mountPoints(text).map(mountKey);
}

/** The mount points this process sees, keyed as mountKey does; none without /proc. */
export function readMountPoints(): string[] {
  try {
    return parseMountInfo(fs.readFileSync('/proc/self/mountinfo'));
  } catch {
    return []; // no /proc: st_dev still keeps us off other filesystems
  }
}

/**
 * The mount points strictly under `root` (keyed), and the keys of the directories that hold them:
 * a walk looks an entry up in `mounts` only inside one of `dirs`.
 */
export function mountsUnder(root: string, allMounts: string[]): { mounts: Set<string>; dirs: Set<string> } {
  const under = root + '/';
  const underBytes = '\0' + Buffer.from(under).toString('latin1');
  const inside = allMounts.filter((m) => m.startsWith(under) || m.startsWith(underBytes));
  return { mounts: new Set(inside), dirs: new Set(inside.map(parentKey)) };
}

/** The key of the directory a keyed path is in. */
function parentKey(key: string): string {
  const bytes = key.startsWith('\0') ? Buffer.from(key.slice(1), 'latin1') : Buffer.from(key);
  return mountKey(bytes.subarray(0, Math.max(1, bytes.lastIndexOf(0x2f))));
}
