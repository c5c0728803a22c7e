// The working directory, for a relative path an option names. process.cwd() throws when the
// directory was removed (a `docker exec -w` into a directory deleted since, a shell left in a
// removed directory); an absolute path never needs it, a relative one cannot be resolved.
import { fail } from './errors.js';

/** process.cwd(), or a one-line refusal naming the option and its path (`what`, e.g. `--chown data`). */
export function workingDirectory(what: string): string {
  try {
    return process.cwd();
  } catch {
    fail(`${what}: a relative path, and the working directory cannot be read (removed?); give the absolute path`);
  }
}

/** `p` made absolute; the working directory is read only when `p` is relative. */
export function absolutePath(what: string, p: string): string {
  return p.startsWith('/') ? p : `${workingDirectory(what)}/${p}`;
}
