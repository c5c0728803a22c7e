// Whether a descriptor is a terminal. node:tty is loaded on first use, not at start-up: it (and
// the stream modules behind it) would cost every start several milliseconds, and only the
// progress line and the audit table ask.
import type * as Tty from 'node:tty';

export function isTerminal(fd: number): boolean {
  return (require('node:tty') as typeof Tty).isatty(fd);
}
