// The environment the command will get: the container's, unchanged, except HOME.
// Under the npm entry point (bin/stepdown) the real environment arrives hex-encoded in
// STEPDOWN_ENVIRON, because the shell that shielded NODE_OPTIONS altered its own copy.

export const HANDOVER = 'STEPDOWN_ENVIRON';

export type Environ = [string, string][];

/** Pure: the original environment, in its original order, as key/value pairs. */
export function originalEnviron(env: NodeJS.ProcessEnv): Environ {
  const hex = env[HANDOVER];
  if (hex) return decodeEnviron(Buffer.from(hex, 'hex'));
  return Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined);
}

/** Parses a /proc/<pid>/environ block: NUL-separated KEY=VALUE; the first of a duplicated key wins. */
export function decodeEnviron(block: Buffer): Environ {
  const seen = new Set<string>();
  const out: Environ = [];
  for (const entry of block.toString('utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const key = entry.slice(0, eq);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push([key, entry.slice(eq + 1)]);
  }
  return out;
}

export function lookup(environ: Environ, key: string): string | undefined {
  return environ.find(([k]) => k === key)?.[1];
}

/** Pure: the target's environment, HOME set (in place if it was there, else appended). */
export function targetEnv(environ: Environ, home: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of environ) {
    if (key === HANDOVER || key.includes('\0') || value.includes('\0')) continue;
    out[key] = value;
  }
  if (home !== undefined) out.HOME = home;
  return out;
}
