// What the app sees after exec: default signal dispositions, blocking stdio, no fds stepdown
// opened, its own environment, argv[0] as typed, cwd and umask untouched, its own exit status.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_PATH, IS_ROOT, RAW_ENV, type Subject, statusFields, stepdown, subjects, tempDir } from '../helpers/harness.js';

const O_NONBLOCK = 0o4000;

function fdFlags(out: string): Record<string, number> {
  const flags: Record<string, number> = {};
  for (const m of out.matchAll(/fdinfo\/(\d+):flags:\s*(\d+)/g)) flags[m[1]!] = parseInt(m[2]!, 8);
  return flags;
}

describe.skipIf(!IS_ROOT).each(subjects())('the exec\'d process ($name)', (subject: Subject) => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('prints nothing on success', () => {
    const r = stepdown(subject, ['nobody', '/bin/true']);
    expect([r.status, r.stdout, r.stderr]).toEqual([0, '', '']);
  });

  it('has no ignored or blocked signals, even when the caller ignored some', () => {
    const r = stepdown(subject, ['nobody', 'cat', '/proc/self/status'], { wrapper: ['sh', '-c', 'trap "" HUP INT QUIT PIPE; exec "$@"', 'sh'] });
    expect(r.status).toBe(0);
    const f = statusFields(r.stdout);
    expect(f.SigIgn).toBe('0000000000000000');
    expect(f.SigBlk).toBe('0000000000000000');
  });

  // every signal a parent can ignore but the real-time ones (a README limit), and only the two
  // Node ignores itself (then stepdown does not look further than SigIgn's two bits)
  it.each([
    ['every signal 1-31 but KILL and STOP', 'HUP INT QUIT ILL TRAP ABRT BUS FPE USR1 SEGV USR2 PIPE ALRM TERM 16 CHLD CONT TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS', '000000007ffafeff'],
    ['only SIGPIPE and SIGXFSZ', 'PIPE XFSZ', '0000000001001000'],
  ])('has no ignored signal when the caller ignored %s', (_, signals, callerMask) => {
    const r = stepdown(subject, ['nobody', 'cat', '/proc/self/status'], {
      wrapper: ['sh', '-c', `trap "" ${signals}; grep -q "^SigIgn:.${callerMask}$" /proc/$$/status || exit 99; exec "$@"`, 'sh'],
    });
    expect(r.status).toBe(0);
    expect(statusFields(r.stdout).SigIgn).toBe('0000000000000000');
  });

  it('dies of SIGPIPE like any program (yes | head), instead of seeing EPIPE', () => {
    const sh = stepdown(subject, ['nobody', 'sh', '-c', '(yes; echo "yes exited $?" >&2) | head -c1 >/dev/null']);
    expect(sh.stderr).toBe('yes exited 141\n');
  });

  it('gets stdio pipes without O_NONBLOCK', () => {
    const r = stepdown(subject, ['nobody', 'grep', '-H', 'flags', '/proc/self/fdinfo/0', '/proc/self/fdinfo/1', '/proc/self/fdinfo/2'], { input: '' });
    const flags = fdFlags(r.stdout);
    expect(Object.keys(flags)).toEqual(['0', '1', '2']);
    for (const f of Object.values(flags)) expect(f & O_NONBLOCK).toBe(0);
  });

  it('gets a terminal without O_NONBLOCK', () => {
    const cmd = [...subject.argv, 'nobody', 'grep', '-H', 'flags', '/proc/self/fdinfo/0', '/proc/self/fdinfo/1', '/proc/self/fdinfo/2'].join(' ');
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', env: { PATH: BASE_PATH, TERM: 'dumb' }, timeout: 20_000 });
    const flags = fdFlags(r.stdout);
    expect(Object.keys(flags)).toEqual(['0', '1', '2']);
    for (const f of Object.values(flags)) expect(f & O_NONBLOCK).toBe(0);
  });

  it('sees exactly the descriptors a direct run sees, minus the inherited 3-15 that Node closes on exec', () => {
    const file = path.join(dir, 'inherited');
    fs.writeFileSync(file, 'x');
    const fd = fs.openSync(file, 'r');
    try {
      // the child gets `fd` as its descriptor 5; ls itself opens 3 for the listing
      const list = (argv: string[]) => {
        const r = spawnSync(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe', 'ignore', 'ignore', fd], encoding: 'utf8', env: { PATH: BASE_PATH } });
        expect(r.stderr).toBe('');
        return r.stdout.split('\n').filter(Boolean);
      };
      const direct = list(['ls', '/proc/self/fd']);
      expect(direct).toContain('5');
      expect(list([...subject.argv, 'nobody', 'ls', '/proc/self/fd'])).toEqual(direct.filter((n) => n !== '5'));
    } finally {
      fs.closeSync(fd);
    }
  });

  it('gets argv[0] as typed, the same cwd and umask, and HOME from passwd', () => {
    const r = stepdown(subject, ['nobody', 'sh', '-c', 'printf "%s|%s|%s|%s" "$(tr "\\0" " " </proc/$$/cmdline)" "$PWD" "$(umask)" "$HOME"'], {
      wrapper: ['sh', '-c', 'umask 027; exec "$@"', 'sh'],
      cwd: '/usr/share',
    });
    expect(r.stdout).toBe('sh -c printf "%s|%s|%s|%s" "$(tr "\\0" " " </proc/$$/cmdline)" "$PWD" "$(umask)" "$HOME" |/usr/share|0027|/nonexistent');
  });

  it('passes the environment through unchanged except HOME', () => {
    const env = { PATH: BASE_PATH, FOO: 'bar baz', EMPTY: '', 'WEIRD.KEY': 'ok', 'A-B': 'dash', HOME: '/root', USER: 'root', MULTI: 'line\nbreak' };
    const r = stepdown(subject, ['nobody', 'env', '-0'], { env });
    expect(r.stdout).not.toMatch(/(^|\0)(PWD|SHLVL|STEPDOWN_ENVIRON)=/); // nothing a shell would add
    const got = Object.fromEntries(r.stdout.split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    expect(got).toEqual({ ...env, HOME: '/nonexistent' });
  });

  it('passes non-ASCII, BOMs and U+FFFD in names, values and arguments byte for byte; drops `=x` and entries with no `=`', () => {
    // the caller's execve gets exactly these entries (env(1) would reorder and drop some)
    const entries = [
      `PATH=${BASE_PATH}`, '\uFEFFBOM=\uFEFFstart', 'CAFÉ=crème brûlée', 'X=\uFFFD', '=empty-name', 'no-equals', 'EMOJI=😀\u0301',
      '__proto__=p', 'Ü=1', 'Ü=2', 'LAST=€',
    ];
    const wrapper = RAW_ENV(...entries);
    const args = ['é', '\uFEFF', '\uFFFD', '', '😀 x', '--version'];
    const r = stepdown(subject, ['nobody', '/bin/sh', '-c', 'printf "%s\\0" "$@"; printf "\\1"; cat /proc/$$/environ', 'sh', ...args], { env: { PATH: undefined }, wrapper });
    expect([r.status, r.stderr]).toEqual([0, '']);
    const [argOut, envOut] = r.stdout.split('\x01');
    expect(argOut!.split('\0').slice(0, -1)).toEqual(args);
    expect(envOut!.split('\0').slice(0, -1)).toEqual([
      `PATH=${BASE_PATH}`, '\uFEFFBOM=\uFEFFstart', 'CAFÉ=crème brûlée', 'X=\uFFFD', 'EMOJI=😀\u0301', '__proto__=p', 'Ü=1', 'LAST=€', 'HOME=/nonexistent',
    ]);
  });

  it('NODE_OPTIONS is for the app: not run inside stepdown as root, not breaking it, handed over unchanged', () => {
    fs.chmodSync(dir, 0o1777); // the app (nobody) must be able to write the marker
    const evil = path.join(dir, 'evil.js');
    const pwned = path.join(dir, 'pwned');
    fs.writeFileSync(evil, `require('fs').writeFileSync(${JSON.stringify(pwned)}, String(process.getuid()));`);
    for (const value of [`--require ${evil}`, '--max-old-space-size=1', '']) {
      const r = stepdown(subject, ['nobody', 'sh', '-c', 'printf "%s|%s" "${NODE_OPTIONS-unset}" "${NODE_COMPILE_CACHE-unset}"'], {
        env: { NODE_OPTIONS: value, NODE_COMPILE_CACHE: path.join(dir, 'cc') },
      });
      expect([r.status, r.stderr, r.stdout]).toEqual([0, '', `${value}|${path.join(dir, 'cc')}`]);
      expect(fs.existsSync(pwned)).toBe(false);
    }
    const unset = stepdown(subject, ['nobody', 'sh', '-c', 'printf "%s" "${NODE_OPTIONS-unset}"']);
    expect(unset.stdout).toBe('unset');
    // the app's own Node still applies it
    const applied = stepdown(subject, ['nobody', 'node', '-e', '0'], { env: { NODE_OPTIONS: `--require ${evil}` } });
    expect(applied.status).toBe(0);
    expect(fs.readFileSync(pwned, 'utf8')).toBe('65534');
    fs.rmSync(pwned);
  });

  it.runIf(subject.name === 'npm package')('the npm entry point works under busybox sh (node:*-alpine)', () => {
    const evil = path.join(dir, 'evil2.js');
    fs.writeFileSync(evil, `require('fs').writeFileSync(${JSON.stringify(path.join(dir, 'pwned2'))}, 'x');`);
    const r = stepdown({ ...subject, argv: ['busybox', 'sh', ...subject.argv] }, ['nobody', 'sh', '-c', 'printf "%s" "$NODE_OPTIONS"'], {
      env: { NODE_OPTIONS: `--require ${evil}` },
    });
    expect([r.status, r.stderr, r.stdout]).toEqual([0, '', `--require ${evil}`]);
    expect(fs.existsSync(path.join(dir, 'pwned2'))).toBe(false);
  });

  it('exits with the command\'s own status, or dies of its signal', () => {
    expect(stepdown(subject, ['nobody', 'sh', '-c', 'exit 7']).status).toBe(7);
    const killed = stepdown(subject, ['nobody', 'sh', '-c', 'kill -TERM $$']);
    expect([killed.status, killed.signal]).toEqual([null, 'SIGTERM']);
  });
});
