// The shipped Dockerfiles, built and run in a real Docker engine: identity, one process,
// docker stop, volumes with --match, hardening flags, already-non-root, and bad input.
// Every test runs under runc and under gVisor (runsc). Where gVisor differs (its /proc has no
// SigIgn or NoNewPrivs line; docker top cannot see into the sandbox; PID 1 without a SIGTERM
// handler dies at once) the test asserts what users rely on instead.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E, RUNTIMES, build, buildShippedImages, docker, dockerOk, requireEngine } from '../helpers/docker.js';

const DEBIAN = 'stepdown-e2e/debian';
const NODE = 'stepdown-e2e/node';
const status = (out: string, key: string) => new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(out)?.[1]?.trim();
const PROBE = ['sh', '-c', 'id; echo "HOME=$HOME"; cat /proc/$$/status'];

beforeAll(() => {
  if (!E2E) return;
  requireEngine();
  buildShippedImages();
}, 600_000);

describe.runIf(E2E).each(RUNTIMES)('containers from docker/*.Dockerfile (%s)', (runtime) => {
  const gvisor = runtime === 'runsc';
  const volumes: string[] = [];
  /** docker run/create with this runtime */
  const run = (args: string[], seconds?: number) => docker(['run', `--runtime=${runtime}`, ...args], seconds);
  const runOk = (args: string[], seconds?: number) => dockerOk(['run', `--runtime=${runtime}`, ...args], seconds);
  afterAll(() => {
    for (const v of volumes) fs.rmSync(v, { recursive: true, force: true });
  });

  function hostDir(uid: number, gid: number): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stepdown-vol-'));
    fs.chownSync(dir, uid, gid);
    volumes.push(dir);
    return dir;
  }

  it('root start: the command runs as app 10001, with its groups and HOME, nothing else', () => {
    const out = runOk(['--rm', DEBIAN, ...PROBE]);
    expect(out).toMatch(/^uid=10001\(app\) gid=10001\(app\) groups=10001\(app\)$/m);
    expect(out).toMatch(/^HOME=\/home\/app$/m);
    expect(status(out, 'CapEff')).toBe('0000000000000000');
    if (!gvisor) expect(status(out, 'SigIgn')).toBe('0000000000000000'); // gVisor has no SigIgn line
    // what a clean signal state means to users, on both kernels: `yes | head` dies of SIGPIPE
    expect(run(['--rm', DEBIAN, 'sh', '-c', '(yes; echo "yes exited $?" >&2) | head -c1 >/dev/null']).stderr).toBe('yes exited 141\n');
    expect(runOk(['--rm', NODE, 'id'])).toBe('uid=10001(app) gid=10001(app) groups=10001(app)\n');
  });

  it('exactly one process: stepdown is gone, the app is PID 1 (docker top; under gVisor, /proc inside)', () => {
    const id = runOk(['-d', '--init=false', DEBIAN, 'sleep', '30']).trim();
    try {
      // right after `run -d` stepdown may still be starting (as root): wait for the exec
      let top: string[] = [];
      if (gvisor) {
        // docker top cannot see into the sandbox; ask its /proc: PID 1 is sleep, as 10001, alone
        for (let i = 0; i < 50 && !dockerOk(['exec', id, 'cat', '/proc/1/cmdline']).startsWith('sleep'); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
        expect(dockerOk(['exec', id, 'cat', '/proc/1/cmdline'])).toBe('sleep\x0030\x00');
        expect(dockerOk(['exec', id, 'grep', '^Uid:', '/proc/1/status'])).toMatch(/^Uid:\s+10001\s+10001\s+10001\s+10001\n$/);
        // processes in the sandbox: sleep and this sh (a glob: coreutils ls trips over gVisor's statx)
        expect(dockerOk(['exec', id, 'sh', '-c', 'n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo $n']).trim()).toBe('2');
        return;
      }
      for (let i = 0; i < 50; i++) {
        top = dockerOk(['top', id]).trim().split('\n'); // UID PID PPID C STIME TTY TIME CMD
        if (top.length === 2 && /^10001\s.*\ssleep 30$/.test(top[1]!)) break;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      }
      expect(top.length).toBe(2); // header + one process
      expect(top[1]).toMatch(/^10001\s.*\ssleep 30$/);
      expect(dockerOk(['exec', id, 'cat', '/proc/1/cmdline']).split('\0')[0]).toBe('sleep');
    } finally {
      docker(['rm', '-f', id]);
    }
  });

  it('docker stop: the example server exits gracefully (0) in under 2 s; behind `sh -c` it takes the whole timeout', () => {
    const graceful = runOk(['-d', NODE]).trim();
    const shc = runOk(['-d', '--entrypoint', 'sh', NODE, '-c', 'stepdown 10001 node /app/server.js; echo exited']).trim();
    try {
      for (const id of [graceful, shc]) {
        for (let i = 0; i < 50 && !docker(['logs', id]).stdout.includes('listening'); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
        expect(docker(['logs', id]).stdout).toMatch(/listening on :8080 as uid 10001 gid 10001, pid (1|\d+)/);
      }
      const t0 = Date.now();
      dockerOk(['stop', '-t', '5', graceful]);
      const gracefulMs = Date.now() - t0;
      const t1 = Date.now();
      dockerOk(['stop', '-t', '5', shc]);
      const shcMs = Date.now() - t1;
      expect(gracefulMs).toBeLessThan(2000);
      expect(dockerOk(['inspect', '-f', '{{.State.ExitCode}}', graceful]).trim()).toBe('0');
      expect(docker(['logs', graceful]).stdout).toContain('SIGTERM: closing\nclosed, exiting 0\n');
      // behind sh -c the app never sees SIGTERM: runc waits out the timeout and kills (137);
      // gVisor kills a PID 1 with no handler at once (143); either way no graceful shutdown
      expect(docker(['logs', shc]).stdout).not.toContain('SIGTERM');
      if (gvisor) {
        expect(dockerOk(['inspect', '-f', '{{.State.ExitCode}}', shc]).trim()).toBe('143');
      } else {
        expect(shcMs).toBeGreaterThanOrEqual(5000);
        expect(dockerOk(['inspect', '-f', '{{.State.ExitCode}}', shc]).trim()).toBe('137');
      }
    } finally {
      docker(['rm', '-f', graceful, shc]);
    }
  }, 60_000);

  it('-v hostdir:/data owned 4321:4321 with --match: the app writes /data as 4321:4321; a second start is a no-op', () => {
    const data = hostDir(4321, 4321);
    const name = `stepdown-e2e-match-${runtime}-${process.pid}`;
    try {
      const first = run(['--name', name, '-e', 'STEPDOWN_MATCH=/data', '-v', `${data}:/data`, DEBIAN, 'sh', '-c', 'touch /data/by-app-$(date +%s%N) && id -u && find /home/app -maxdepth 0 -printf "%U %G %p\\n"']);
      expect(first.status).toBe(0);
      expect(first.stderr).toMatch(/^stepdown: app is now uid 4321 gid 4321 \(was 10001:10001\); wrote \/etc\/group and \/etc\/passwd; re-owned 4 of 4 entries in \/home\/app \(0\.\d s\)\n$/);
      expect(first.stdout).toBe('4321\n4321 4321 /home/app\n');
      const made = fs.readdirSync(data);
      expect(made.length).toBe(1);
      expect(fs.statSync(path.join(data, made[0]!))).toMatchObject({ uid: 4321, gid: 4321 });
      const second = docker(['start', '-a', name]);
      expect([second.status, second.stderr]).toEqual([0, '']);
      expect(second.stdout).toMatch(/^4321\n/);
      expect(fs.readdirSync(data).length).toBe(2);
    } finally {
      docker(['rm', '-f', name]);
    }
  });

  it('--read-only --tmpfs /tmp: plain start works; with --match it runs as the owner without writing', () => {
    expect(runOk(['--rm', '--read-only', '--tmpfs', '/tmp', DEBIAN, 'id', '-u'])).toBe('10001\n');
    const data = hostDir(4321, 4321);
    const r = run(['--rm', '--read-only', '--tmpfs', '/tmp', '-e', 'STEPDOWN_MATCH=/data', '-v', `${data}:/data`, DEBIAN, 'sh', '-c', 'id -u; touch /data/x']);
    expect(r.stderr).toMatch(/^stepdown: \/etc\/group and \/etc\/passwd cannot be written \(read-only\): nothing was written and no file re-owned; running as uid 4321 gid 4321 for this start only\n$/);
    expect([r.status, r.stdout]).toEqual([0, '4321\n']);
    expect(fs.statSync(path.join(data, 'x')).uid).toBe(4321);
  });

  it('--security-opt no-new-privileges: works (stepdown never needs a setuid exec)', () => {
    const out = runOk(['--rm', '--security-opt', 'no-new-privileges', DEBIAN, ...PROBE]);
    expect(out).toMatch(/^uid=10001\(app\)/m);
    if (!gvisor) expect(status(out, 'NoNewPrivs')).toBe('1'); // gVisor has no NoNewPrivs line
  });

  it('--cap-drop ALL plus the capabilities the README lists: SETUID+SETGID to drop, +CHOWN to remap', () => {
    const drop = ['--cap-drop', 'ALL', '--cap-add', 'SETUID', '--cap-add', 'SETGID'];
    expect(runOk(['--rm', ...drop, DEBIAN, 'id'])).toBe('uid=10001(app) gid=10001(app) groups=10001(app)\n');
    const data = hostDir(4321, 4321);
    const remap = ['-e', 'STEPDOWN_MATCH=/data', '-v', `${data}:/data`];
    const ok = run(['--rm', ...drop, '--cap-add', 'CHOWN', ...remap, DEBIAN, 'find', '/home/app', '/home/app/.bashrc', '-maxdepth', '0', '-printf', '%U:%G\\n']); // not stat: gVisor statx
    expect([ok.status, ok.stdout]).toEqual([0, '4321:4321\n4321:4321\n']);
    const noChown = run(['--rm', ...drop, ...remap, DEBIAN, 'id']);
    expect(noChown.status).toBe(125);
    expect(noChown.stderr).toMatch(/needs CAP_CHOWN, which this process lacks; add it \(docker run --cap-add CHOWN/);
  });

  it('--cap-drop ALL alone: a clear error, exit 125, nothing run', () => {
    const r = run(['--rm', '--cap-drop', 'ALL', DEBIAN, 'touch', '/tmp/ran']);
    expect(r.status).toBe(125);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'stepdown: running as root without CAP_SETGID and CAP_SETUID, so the user cannot be changed; add it back (docker run --cap-add SETGID --cap-add SETUID; Kubernetes securityContext.capabilities.add: [SETGID, SETUID])\n',
    );
  });

  it('--user 10001 (already the target user): passes straight through, even with everything dropped', () => {
    for (const user of ['10001', '10001:10001']) {
      const out = runOk(['--rm', '--user', user, '--cap-drop', 'ALL', '--read-only', '--security-opt', 'no-new-privileges', DEBIAN, ...PROBE]);
      expect(out).toMatch(/^uid=10001\(app\) gid=10001\(app\)/m);
      expect(out).toMatch(/^HOME=\/home\/app$/m);
    }
    const other = run(['--rm', '--user', '1234:1234', DEBIAN, 'id']);
    expect(other.status).toBe(125);
    expect(other.stderr).toMatch(/running as uid 1234 gid 1234, not root, so cannot become uid 10001 gid 10001/);
  });

  it.each([
    [['--entrypoint', 'stepdown', DEBIAN, 'bogus', '--', 'id'], 125, /^stepdown: unknown user 'bogus': no such name in \/etc\/passwd/],
    [['--entrypoint', 'stepdown', DEBIAN, 'app'], 125, /^stepdown: no command given after 'app'/],
    [[DEBIAN, 'no-such-program'], 127, /^stepdown: command 'no-such-program' not found in PATH/],
    [[DEBIAN, '/etc/passwd'], 126, /^stepdown: \/etc\/passwd: permission denied/],
  ])('docker run %j → %i with one line', (args, code, message) => {
    const r = run(['--rm', ...args]);
    expect(r.status).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.split('\n').filter(Boolean).length).toBe(1);
  });

  it.runIf(!gvisor)('a typo in the user fails the build, not the deploy (RUN stepdown --check)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stepdown-typo-'));
    const dockerfile = path.join(dir, 'typo.Dockerfile');
    fs.writeFileSync(dockerfile, `FROM ${DEBIAN}\nRUN stepdown --check apps\n`);
    expect(() => build('stepdown-e2e/typo', dockerfile, {}, 120, false)).toThrow(/stepdown --check apps' returned a non-zero code: 125/);
    expect(run(['--rm', '--entrypoint', 'stepdown', DEBIAN, '--check', 'apps']).stderr).toBe(
      "stepdown: unknown user 'apps': no such name in /etc/passwd; use an existing user or a numeric 'uid:gid'\n",
    );
    expect(runOk(['--rm', '--entrypoint', 'stepdown', DEBIAN, '--check', 'app'])).toBe('uid=10001(app) gid=10001(app) groups=10001(app) home=/home/app\n');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('distroless (no shell) and the scratch image for COPY --from', () => {
    // the images are built once (builds do not use the runtime); each runtime runs them
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stepdown-dl-'));
    const probe = path.join(dir, 'probe.Dockerfile');
    fs.writeFileSync(probe, 'FROM stepdown-e2e/distroless\nCOPY busybox /busybox\n');
    build('stepdown-e2e/distroless-probe', probe, { busybox: '/bin/busybox' });
    expect(run(['--rm', 'stepdown-e2e/distroless', ]).stdout).toMatch(/^stepdown \d+\.\d+\.\d+ \(node v24\.21\.0\)\n$/);
    expect(runOk(['--rm', 'stepdown-e2e/distroless-probe', '/busybox', 'id'])).toBe('uid=65532(nonroot) gid=65532(nonroot) groups=65532(nonroot)\n');
    const copy = path.join(dir, 'copy.Dockerfile');
    fs.writeFileSync(copy, 'FROM debian:bookworm-slim\nCOPY --from=stepdown-e2e/scratch /stepdown /usr/local/bin/stepdown\nRUN stepdown --check nobody\n');
    build('stepdown-e2e/copied', copy, {});
    expect(runOk(['--rm', 'stepdown-e2e/copied', 'stepdown', 'nobody', 'id', '-u'])).toBe('65534\n');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
