// Reads a file that must be a regular file, with a size cap. /etc/passwd, /etc/group and their
// lock files can be anything an image or a second process put there: a FIFO would block the
// read forever, a device (or a symlink to /dev/zero) would feed it without end. The open never
// blocks (O_NONBLOCK), the type is checked on the opened file (fstat), and reading stops at the cap.
import * as fs from 'node:fs';

export class UnreadableFile extends Error {
  constructor(
    readonly file: string,
    readonly reason: 'not-regular' | 'too-large',
    readonly detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

/** The file's bytes; open errors (ENOENT, ELOOP with follow=false) are thrown as they are. */
export function readRegular(file: string, maxBytes: number, follow: boolean): Buffer {
  const flags = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | (follow ? 0 : fs.constants.O_NOFOLLOW);
  const fd = fs.openSync(file, flags);
  try {
    const st = fs.fstatSync(fd);
    // a directory gives read(2)'s own error, as reading it would
    if (st.isDirectory()) throw Object.assign(new Error(`${file}: is a directory`), { code: 'EISDIR' });
    if (!st.isFile()) throw new UnreadableFile(file, 'not-regular', `is not a regular file (${kind(st)})`);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(1 << 16, maxBytes + 1 - total));
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > maxBytes) throw new UnreadableFile(file, 'too-large', `is larger than ${maxBytes} bytes`);
    }
    return Buffer.concat(chunks, total);
  } finally {
    fs.closeSync(fd);
  }
}

function kind(st: fs.Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a file';
}
