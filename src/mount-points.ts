// The mount points this process sees, from /proc/self/mountinfo, keyed so that paths whose bytes
// are not UTF-8 compare exactly.
import * as fs from 'node:fs';
import { isUtf8 } from 'node:buffer';

/**
 * How a path is keyed in the mount-point set: the string itself when the bytes are UTF-8,
 * otherwise NUL + the bytes as latin1 (a UTF-8 path never starts with NUL, so keys never collide).
 */
export function mountKey(p: string | Buffer): string {
  if (typeof p === 'string') return p;
  return isUtf8(p) ? p.toString('utf8') : '\0' + p.toString('latin1');
}

/**
 * Mount points (field 5) of /proc/self/mountinfo text, keyed as mountKey does. The kernel escapes
 * space, tab, newline and backslash as \ooo octal; every other byte is raw, so decode bytes.
 */
export function parseMountInfo(text: Buffer | string): string[] {
  const buf = typeof text === 'string' ? Buffer.from(text) : text;
  const out: string[] = [];
  let start = 0;
  while (start < buf.length) {
    let end = buf.indexOf(0x0a, start);
    if (end < 0) end = buf.length;
    const line = buf.subarray(start, end);
    start = end + 1;
    let field = 0;
    let i = 0;
    while (field < 4 && i < line.length) if (line[i++] === 0x20) field++;
    if (field < 4) continue;
    let j = line.indexOf(0x20, i);
    if (j < 0) j = line.length;
    out.push(mountKey(unescapeOctal(line.subarray(i, j))));
  }
  return out;
}

function unescapeOctal(b: Buffer): Buffer {
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

/** The mount points this process sees, keyed as mountKey does; none without /proc. */
export function readMountPoints(): string[] {
  try {
    return parseMountInfo(fs.readFileSync('/proc/self/mountinfo'));
  } catch {
    return []; // no /proc: st_dev still keeps us off other filesystems
  }
}
