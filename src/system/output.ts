// stepdown's own output. Written with fs.writeSync on the descriptor, never process.stdout or
// process.stderr: those would leave stdio O_NONBLOCK for the command stepdown becomes.
import * as fs from 'node:fs';
import { errnoCode, fail, printable } from './errors.js';

/** All of text to fd, however the pipe takes it: partial writes, and EAGAIN if someone else left
 * the descriptor non-blocking. */
export function writeAll(fd: number, text: string): void {
  let buf = Buffer.from(text);
  while (buf.length > 0) {
    try {
      buf = buf.subarray(fs.writeSync(fd, buf));
    } catch (err) {
      if (errnoCode(err) !== 'EAGAIN') throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

/** What --version, --help, --check and --audit print: a stdout that is full or a broken pipe is
 * stepdown's failure (125, one line), not a bug. */
export function printOut(text: string): void {
  try {
    writeAll(1, text);
  } catch (err) {
    fail(`cannot write to standard output (${errnoCode(err) ?? String(err)})`);
  }
}

/** One `stepdown: …` line on stderr, best-effort: a closed or broken stderr (EPIPE, EBADF)
 * never changes what runs or the exit status. Control characters are escaped: one line each. */
export function tell(line: string): void {
  try {
    writeAll(2, `stepdown: ${printable(line)}\n`);
  } catch {
    // nobody is listening
  }
}
