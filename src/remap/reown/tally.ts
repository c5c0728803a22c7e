// The counts a walk reports: entries examined, entries re-owned, and the entries that failed
// with a one-line reason each.
import { getSystemErrorMessage } from 'node:util';
import { errnoCode } from '../../system/errors.js';
import type { FsPath } from './dir-ops.js';
import type { ReownResult } from './types.js';

export class Tally {
  scanned = 0;
  changed = 0;
  readonly errors: { path: string; message: string }[] = [];
  readonly started = performance.now();

  result(): ReownResult {
    const seconds = (performance.now() - this.started) / 1000;
    return { scanned: this.scanned, changed: this.changed, errors: [...this.errors], seconds };
  }

  error(p: FsPath, err: unknown): void {
    this.errors.push({ path: pathText(p), message: errorText(err) });
  }
}

export function pathText(p: FsPath): string {
  return typeof p === 'string' ? p : p.toString('utf8');
}

/** "lstat: permission denied (EACCES)"; the path is reported beside it. */
function errorText(err: unknown): string {
  if (errnoCode(err) === undefined) return err instanceof Error ? err.message : String(err);
  const e = err as NodeJS.ErrnoException;
  const what = typeof e.errno === 'number' ? getSystemErrorMessage(e.errno) : e.message;
  return `${e.syscall ?? 'fs'}: ${what}${e.code ? ` (${e.code})` : ''}`;
}
