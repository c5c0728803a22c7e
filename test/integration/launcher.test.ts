// The entry points as root, under attack from their own environment: programs planted on PATH,
// functions exported to bash, a spoofed hand-over, an old Node, Node's own variables, bytes
// that are not UTF-8. /bin/sh is dash, bash (as sh) or busybox, bind-mounted in a private mount
// namespace. Planted programs record their uid in `ran`: it must never exist.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAB_GROUP, LAB_PASSWD } from '../helpers/lab.js';
import { BASE_PATH, IS_ROOT, NODE24, RAW_ENV, REPO, type Subject, stepdown, subjects, tempDir } from '../helpers/harness.js';

const SHELLS: Record<string, string> = {
  dash: 'true',
  bash: 'mount --bind /usr/bin/bash /bin/sh', // /bin/sh -> dash: the bind lands on dash itself
  busybox: 'mount --bind /bin/busybox /bin/sh',
};
/** Node 24 where the default PATH finds it (over Debian's Node 20) */
const NODE24_ON_USR_BIN = `mount --bind ${NODE24} /usr/bin/node`;
const ENV_ENTRIES = (out: string) => out.split('\0').filter(Boolean);
/** The first of each name, in order: what the command gets. */
const FIRST_OF = (entries: string[]) => entries.filter((e, i) => entries.findIndex((f) => f.split('=')[0] === e.split('=')[0]) === i);

function expectRefusal(r: { status: number | null; stderr: string; stdout: string }, message: RegExp) {
  expect(r.stderr).toMatch(/^stepdown: [^\n]+\n$/); // exactly one line
  expect(r.stderr).toMatch(message);
  expect([r.status, r.stdout]).toEqual([125, '']);
}

describe.skipIf(!IS_ROOT).each(subjects())('entry point under attack ($name)', (subject: Subject) => {
  const npm = subject.name === 'npm package';
  let dir: string;
  let ran: string;
  let appHome: string;
  let appBin: string;
  const plant = (where: string, name: string, then = 'exit 1') =>
    fs.writeFileSync(path.join(where, name), `#!/bin/sh\n/usr/bin/id -u >>${ran}\n${then}\n`, { mode: 0o755 });

  beforeAll(() => {
    dir = tempDir();
    fs.chmodSync(dir, 0o1777);
    ran = path.join(dir, 'ran');
    // the app's own bin directory, first on PATH (ENV PATH=/app/node_modules/.bin:$PATH), in a
    // directory of root's (not /tmp: sticky and world-writable, it would be refused first)
    appHome = fs.mkdtempSync(path.join(REPO, '.test-app-'));
    fs.chmodSync(appHome, 0o755);
    appBin = path.join(appHome, 'app-bin');
    fs.mkdirSync(appBin);
    for (const tool of ['od', 'tr', 'stat', 'readlink', 'env', 'sh', 'true']) plant(appBin, tool);
    fs.chownSync(appBin, 65534, 65534);
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(appHome, { recursive: true, force: true });
  });
  const nothingRan = () => expect(fs.existsSync(ran) ? fs.readFileSync(ran, 'utf8') : 'nothing ran').toBe('nothing ran');

  describe.each(Object.keys(SHELLS))('/bin/sh is %s', (shell) => {
    const setup = `${SHELLS[shell]} && ${NODE24_ON_USR_BIN}`;

    it('hands the app exactly the caller\'s environment plus HOME: odd names, STEPDOWN_*, empty values', () => {
      const env = {
        PATH: BASE_PATH, 'A.B': 'dots', '1X': 'digit', 'A-B': 'dash', EMPTY: '', MULTI: 'a\nb', STEPDOWN_ENVIRON: 'yes',
        STEPDOWN_MATCH: '', _sd_t: 'ours?', IFS: 'x', SHLVL: '7', PWD: '/nowhere', 'BASH_FUNC_x%%': '() { :; }',
      };
      const r = stepdown(subject, ['nobody', '/usr/bin/env', '-0'], { env, setup });
      expect([r.status, r.stderr]).toEqual([0, '']);
      expect(ENV_ENTRIES(r.stdout)).toEqual([...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'HOME=/nonexistent']);
    });

    it('variables the shell manages itself, and duplicates: the app gets the container\'s, the first of each name', () => {
      const entries = [
        `PATH=${BASE_PATH}`, 'OPTIND=3', 'PPID=1', 'PS1=$ ', 'PS2=> ', 'PS4=++ ', 'POSIXLY_CORRECT=1', 'LINENO=7', 'RANDOM=4',
        'SRANDOM=5', 'SECONDS=6', 'EPOCHSECONDS=1', 'EPOCHREALTIME=1.5', 'BASHPID=1', 'HISTCMD=9', 'BASH=/x', 'BASH_ARGV0=x',
        'OPTERR=0', 'BASH_XTRACEFD=2', 'BASH_VERSION=1', 'SHELLOPTS=allexport', 'BASHOPTS=', 'X=1', 'Y=a', 'X=2', 'Y=b', 'Y=c',
        '__proto__=p', 'Z=z',
      ];
      const r = stepdown(subject, ['nobody', '/usr/bin/env', '-0'], { env: { PATH: undefined }, setup, wrapper: RAW_ENV(...entries) });
      expect([r.status, r.stderr]).toEqual([0, '']);
      expect(ENV_ENTRIES(r.stdout)).toEqual([...FIRST_OF(entries), 'HOME=/nonexistent']);
    });

    it('a forged hand-over is still refused when the shell manages variables too', () => {
      // OPTIND and PS4 are the shell's, FOO is not: the forgery changes FOO
      const forged = "$(printf 'OPTIND=3\\0PS4=x\\0FOO=forged\\0' | /usr/bin/od -An -v -tx8)";
      const r = stepdown({ ...subject, argv: [NODE24, path.join(REPO, 'bin/stepdown')] }, ['nobody', '/bin/sh', '-c', `/usr/bin/id -u >>${ran}`], {
        env: { FOO: 'bar', OPTIND: '3', PS4: 'x' }, setup,
        wrapper: ['/bin/sh', '-c', `export STEPDOWN_ENVIRON_$$="${forged}"; exec "$@"`, 'sh'],
      });
      if (npm) expectRefusal(r, /^stepdown: the environment bin\/stepdown handed over does not match the one Node received \(FOO\); nothing was run\n$/);
      nothingRan();
    });

    it('an empty environment stays empty (plus HOME)', () => {
      const r = stepdown(subject, ['nobody', '/usr/bin/env', '-0'], { env: { PATH: undefined }, setup });
      expect([r.status, r.stderr, ENV_ENTRIES(r.stdout)]).toEqual([0, '', ['HOME=/nonexistent']]);
    });

    it('runs no program the app planted on PATH, and refuses a node the app could replace', () => {
      const r = stepdown(subject, ['nobody', '/usr/bin/env', '-0'], { env: { PATH: `${appBin}:${BASE_PATH}` }, setup });
      expect([r.status, r.stderr]).toEqual([0, '']);
      nothingRan();
      if (!npm) return;
      plant(appBin, 'node', `exec ${NODE24} "$@"`);
      try {
        const planted = stepdown(subject, ['nobody', '/usr/bin/true'], { env: { PATH: `${appBin}:${BASE_PATH}` }, setup });
        expectRefusal(planted, new RegExp(`^stepdown: will not run ${appBin}/node as root: ${appBin} is not owned by root`));
        nothingRan();
      } finally {
        fs.rmSync(path.join(appBin, 'node'));
      }
    });

    it.runIf(npm)('follows node\'s symlinks: a link in a directory the app can write is refused', () => {
      fs.symlinkSync(NODE24, path.join(appBin, 'node'));
      try {
        const r = stepdown(subject, ['nobody', '/usr/bin/true'], { env: { PATH: `${appBin}:${BASE_PATH}` }, setup });
        expectRefusal(r, new RegExp(`^stepdown: will not run ${appBin}/node as root: ${appBin} is not owned by root`));
      } finally {
        fs.rmSync(path.join(appBin, 'node'));
      }
      // root's link in root's directory, to root's node: fine (node_modules/.bin/node is one)
      const ok = stepdown(subject, ['nobody', '/usr/bin/true'], { env: { PATH: `${REPO}/node_modules/.bin:/usr/bin` }, setup: SHELLS[shell]! });
      expect([ok.status, ok.stderr]).toEqual([0, '']);
    });

    it('exported shell functions change nothing that runs', () => {
      const env: Record<string, string> = { PATH: BASE_PATH };
      for (const name of ['od', 'tr', 'stat', 'readlink', 'node', 'test', '[', 'command', 'printf', 'exec', 'unset', 'set', 'export', '/usr/bin/od', `${NODE24}`]) {
        env[`BASH_FUNC_${name}%%`] = `() { /usr/bin/id -u >>${ran}; }`;
      }
      const r = stepdown(subject, ['nobody', '/usr/bin/env', '-0'], { env, setup });
      expect(r.status).toBe(0);
      expect(ENV_ENTRIES(r.stdout)).toEqual([...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'HOME=/nonexistent']);
      nothingRan();
    });

    it('Node\'s own variables do nothing in stepdown and reach the app unchanged', () => {
      const conf = path.join(dir, 'openssl.cnf'); // loading it would try to load libstepdown-planted.so
      fs.writeFileSync(conf, 'nodejs_conf = init\n[init]\nstepdown-planted = x\n');
      const env = {
        PATH: BASE_PATH, OPENSSL_CONF: conf, NODE_OPTIONS: `--require ${path.join(dir, 'nothing.js')}`, NODE_DEBUG: 'fs,module',
        NODE_DEBUG_NATIVE: 'SEA', NODE_REDIRECT_WARNINGS: path.join(dir, 'warnings'), NODE_ICU_DATA: '/nonexistent',
        ...(npm ? { NODE_COMPILE_CACHE: path.join(dir, 'cache'), NODE_V8_COVERAGE: path.join(dir, 'coverage') } : {}),
      };
      const r = stepdown(subject, ['nobody', '/usr/bin/env', '-0'], { env, setup });
      expect([r.status, r.stderr]).toEqual([0, '']);
      expect(ENV_ENTRIES(r.stdout)).toEqual([...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'HOME=/nonexistent']);
      expect(fs.readdirSync(dir).filter((f) => ['cache', 'coverage', 'warnings'].includes(f))).toEqual([]);
    });

    it('a small stack limit: the npm entry refuses an environment its own exec of Node cannot carry, with one line', () => {
      // execve takes a quarter of the stack limit, at least 128 KiB; the npm entry's exec of Node
      // carries the environment twice (as it is, and dumped in the hand-over)
      const small = ['/usr/bin/prlimit', '--stack=524288', '--']; // a shell would change the environment
      const envOf = (kb: number) => {
        const env: Record<string, string> = { PATH: BASE_PATH };
        for (let i = 0; i < kb; i++) env[`V${String(i).padStart(3, '0')}`] = 'x'.repeat(1000);
        return env;
      };
      const fits = stepdown(subject, ['nobody', '/usr/bin/env', '-0'], { env: envOf(30), setup, wrapper: small });
      expect([fits.status, fits.stderr]).toEqual([0, '']);
      expect(ENV_ENTRIES(fits.stdout)).toEqual([...Object.entries(envOf(30)).map(([k, v]) => `${k}=${v}`), 'HOME=/nonexistent']);
      const big = stepdown(subject, ['nobody', '/bin/sh', '-c', `/usr/bin/id -u >>${ran}`], { env: envOf(50), setup, wrapper: small });
      if (npm) {
        expectRefusal(big, /^stepdown: the environment and arguments take about \d+ bytes as the npm entry point starts Node .*more than the 131072 bytes execve takes with this stack limit/);
        nothingRan();
      } else {
        expect([big.status, big.stderr]).toEqual([0, '']); // the single executable carries it once
        fs.rmSync(ran);
      }
    });

    it.runIf(shell === 'bash')('bash options from SHELLOPTS: either a correct run, or nothing runs and the status is not 0', () => {
      for (const opts of ['xtrace', 'verbose', 'errexit:nounset:allexport:xtrace:verbose', 'posix:noglob']) {
        const r = stepdown(subject, ['nobody', '/usr/bin/env', '-0'], { env: { SHELLOPTS: opts }, setup });
        expect(r.status).toBe(0);
        expect(ENV_ENTRIES(r.stdout)).toEqual([`PATH=${BASE_PATH}`, `SHELLOPTS=${opts}`, 'HOME=/nonexistent']);
        // xtrace and verbose show the launcher's first line or two, then turn themselves off
        if (npm) expect(r.stderr.split('\n').filter(Boolean).length).toBeLessThanOrEqual(4);
        else expect(r.stderr).toBe('');
      }
      const cmd = ['nobody', '/usr/bin/id', '-u'];
      for (const opts of ['noexec', 'noexec:xtrace:verbose', 'allexport:noexec']) {
        const r = stepdown(subject, cmd, { env: { SHELLOPTS: opts }, setup });
        if (!npm) {
          expect([r.status, r.stdout]).toEqual([0, '65534\n']);
          continue;
        }
        // bash reads the whole file and runs nothing: stopped by a syntax error before the JavaScript
        expect([r.status, r.stdout]).toEqual([2, '']);
        // (verbose echoes the lines read before: the shell part, never the JavaScript)
        expect(r.stderr).toMatch(/syntax error near unexpected token `\)'\n[^\n]*`\) stepdown: this line is reached only by a shell that runs nothing \(bash noexec[^\n]*\n$/);
        expect(r.stderr).not.toContain("'use strict'");
      }
      if (!npm) return;
      // onecmd: bash exits 0 after the first line, `#!/bin/sh`, before any of stepdown (documented)
      const once = stepdown(subject, cmd, { env: { SHELLOPTS: 'onecmd' }, setup });
      expect([once.status, once.stdout, once.stderr]).toEqual([0, '', '']);
    });

    it('refuses arguments and variables that are not UTF-8 instead of altering them', () => {
      const arg = stepdown(subject, ['nobody', '/bin/sh', '-c', `/usr/bin/id -u >>${ran}`], {
        setup, wrapper: ['/bin/sh', '-c', 'exec "$@" "$(printf "caf\\351")"', 'sh'],
      });
      expectRefusal(arg, /^stepdown: argument 5 \('caf\\xe9'\) is not valid UTF-8: /);
      const env = stepdown(subject, ['nobody', '/bin/sh', '-c', `/usr/bin/id -u >>${ran}`], {
        setup, wrapper: ['/bin/sh', '-c', 'BAD=$(printf "caf\\351"); export BAD; exec "$@"', 'sh'],
      });
      expectRefusal(env, /^stepdown: the environment variable BAD is not valid UTF-8: /);
      nothingRan();
    });
  });

  it.runIf(npm)('refuses to run a copy of stepdown the app could rewrite', () => {
    const pkg = path.join(appHome, 'pkg');
    fs.mkdirSync(path.join(pkg, 'bin'), { recursive: true });
    fs.mkdirSync(path.join(pkg, 'dist'));
    fs.copyFileSync(path.join(REPO, 'bin/stepdown'), path.join(pkg, 'bin/stepdown'));
    fs.copyFileSync(path.join(REPO, 'dist/stepdown.cjs'), path.join(pkg, 'dist/stepdown.cjs'));
    fs.chmodSync(path.join(pkg, 'bin/stepdown'), 0o755);
    const run = () => stepdown({ ...subject, argv: [path.join(pkg, 'bin/stepdown')] }, ['nobody', '/bin/sh', '-c', `/usr/bin/id -u >>${ran}`]);
    try {
      fs.chownSync(path.join(pkg, 'dist'), 65534, 65534); // the bundle's directory is the app's
      expectRefusal(run(), new RegExp(`^stepdown: will not run ${pkg}/bin/../dist/stepdown.cjs as root: ${pkg}/dist is not owned by root .*\\(install stepdown as root\\)\n$`));
      fs.chownSync(pkg, 65534, 65534); // the whole package is
      expectRefusal(run(), new RegExp(`^stepdown: will not run ${pkg}/bin/stepdown as root: ${pkg} is not owned by root`));
      nothingRan();
    } finally {
      fs.rmSync(pkg, { recursive: true, force: true });
    }
  });

  it.runIf(npm)('fails closed: no od, or od failing, is 125 and nothing runs', () => {
    const broken = path.join(dir, 'od-broken');
    fs.writeFileSync(broken, '#!/bin/sh\nexit 3\n', { mode: 0o755 });
    const noexec = path.join(dir, 'od-noexec');
    fs.writeFileSync(noexec, '', { mode: 0o644 });
    const cmd = ['nobody', '/bin/sh', '-c', `/usr/bin/id -u >>${ran}`];
    expectRefusal(stepdown(subject, cmd, { setup: `mount --bind ${noexec} /usr/bin/od` }), /^stepdown: the npm entry point needs od /);
    expectRefusal(stepdown(subject, cmd, { setup: `mount --bind ${broken} /usr/bin/od` }), /^stepdown: cannot read \/proc\/\d+\/environ/);
    nothingRan();
  });

  it.runIf(npm)('an old Node first on PATH: 125 naming it, before anything is done', () => {
    // a remap would rewrite /etc/passwd: it must not happen either
    const etc = path.join(dir, 'etc');
    const vol = path.join(dir, 'vol');
    fs.mkdirSync(etc);
    fs.mkdirSync(vol);
    fs.chownSync(vol, 4321, 4321);
    fs.writeFileSync(path.join(etc, 'passwd'), LAB_PASSWD);
    fs.writeFileSync(path.join(etc, 'group'), LAB_GROUP);
    const r = stepdown(subject, ['--match', vol, 'ops', '/bin/sh', '-c', `/usr/bin/id -u >>${ran}`], {
      env: { PATH: '/usr/bin:/bin' }, etcDir: etc, setup: `mount --bind ${vol} /home && mount --bind ${vol} /root`, // nothing real to walk
    });
    expect(fs.readFileSync(path.join(etc, 'passwd'), 'utf8')).toBe(LAB_PASSWD);
    expectRefusal(r, /^stepdown: \/usr\/bin\/node is Node v(18|20)\.[0-9.]+, too old for stepdown \(it needs process\.execve, Node >= 22\.15\); put Node 24 first on PATH/);
    nothingRan();
  });

  it.runIf(npm)('a hand-over the launcher did not make is refused', () => {
    // same pid as the shell, as bin/stepdown's own would be, but claiming a variable Node never saw
    const forged = "$(printf 'FOO=bar\\0LD_PRELOAD=/x.so\\0' | /usr/bin/od -An -v -tx8)";
    const r = stepdown({ ...subject, argv: [NODE24, path.join(REPO, 'bin/stepdown')] }, ['nobody', '/bin/sh', '-c', `/usr/bin/id -u >>${ran}`], {
      env: { FOO: 'bar' },
      wrapper: ['/bin/sh', '-c', `export STEPDOWN_ENVIRON_$$="${forged}"; exec "$@"`, 'sh'],
    });
    expectRefusal(r, /^stepdown: the environment bin\/stepdown handed over does not match the one Node received \(LD_PRELOAD\); nothing was run\n$/);
    nothingRan();
  });

  it.runIf(!npm)('never reads a hand-over: STEPDOWN_ENVIRON* reach the app as they are', () => {
    const env = { STEPDOWN_ENVIRON: 'yes', FOO: 'bar', STEPDOWN_ENVIRON_1: '00' };
    const r = stepdown(subject, ['nobody', '/usr/bin/env', '-0'], { env });
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(ENV_ENTRIES(r.stdout)).toEqual([`PATH=${BASE_PATH}`, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'HOME=/nonexistent']);
  });
});
