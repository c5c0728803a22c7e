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
