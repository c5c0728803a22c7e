// --audit on recorded /proc, cgroup and /etc files (test/fixtures/audit/*, see record.sh there)
// and on odd variations of them. Each recorded fixture pins every verdict.
import { describe, expect, it } from 'vitest';
import { type AuditInput, type Check, UNEXPOSED, audit, detectSandbox } from '../../../src/audit/checks.js';
import { readAuditInput } from '../../../src/audit/read.js';
import { loadFixture } from '../../helpers/audit-fixture.js';

const IDS = [
  'uid', 'gid', 'groups', 'capabilities', 'no-new-privs', 'seccomp', 'lsm', 'privileged', 'root-readonly',
  'exec-mounts', 'passwd-writable', 'memory', 'pids', 'cpu', 'pid1', 'setuid-exe',
];

const verdicts = (input: AuditInput) => Object.fromEntries(audit(input).checks.map((c) => [c.id, c.verdict]));
const row = (input: AuditInput, id: string): Check => {
  const c = audit(input).checks.find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id}`);
  return c;
};
/** The fixture with some files replaced (a string), errored ({ errno }) or removed (null). */
function withFiles(name: string, changes: Record<string, string | { errno: string } | null>): AuditInput {
  const input = loadFixture(name);
  for (const [path, v] of Object.entries(changes)) {
    if (v === null) delete input.files[path];
    else input.files[path] = v;
  }
  return input;
}
/** Replaces (or, with null, removes) lines of /proc/self/status. */
function withStatus(name: string, lines: Record<string, string | null>): AuditInput {
  const input = loadFixture(name);
  let text = input.files['/proc/self/status'] as string;
  for (const [key, v] of Object.entries(lines)) {
    const re = new RegExp(`^${key}:.*\\n`, 'm');
    text = re.test(text) ? text.replace(re, v === null ? '' : `${key}:\t${v}\n`) : text + (v === null ? '' : `${key}:\t${v}\n`);
  }
  input.files['/proc/self/status'] = text;
  return input;
}

describe('recorded: Docker 20.10, cgroup v1, root with the defaults (debian:bookworm-slim)', () => {
  const input = loadFixture('v1-docker-root');

  it('has every check, in a stable order, with the restricted ones marked', () => {
    const report = audit(input);
    expect(report.checks.map((c) => c.id)).toEqual(IDS);
    expect(report.checks.filter((c) => c.restricted).map((c) => c.id)).toEqual(['uid', 'capabilities', 'no-new-privs', 'seccomp']);
    expect(report.sandbox).toBeNull();
    expect(report.strictFailed).toBe(true);
  });

  it('pins every verdict', () => {
    expect(verdicts(input)).toEqual({
      uid: 'fail', gid: 'warn', groups: 'warn', capabilities: 'fail', 'no-new-privs': 'fail', seccomp: 'pass',
      lsm: 'warn', privileged: 'pass', 'root-readonly': 'warn', 'exec-mounts': 'warn', 'passwd-writable': 'warn',
      memory: 'warn', pids: 'warn', cpu: 'warn', pid1: 'pass', 'setuid-exe': 'pass',
    });
  });

  it("names Docker's 14 default capabilities (a80425fb), not hex", () => {
    const c = row(input, 'capabilities');
    const docker = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW', 'CAP_SYS_CHROOT', 'CAP_MKNOD', 'CAP_AUDIT_WRITE', 'CAP_SETFCAP'];
    expect(c.found).toBe(`effective, permitted, bounding: ${docker.join(', ')}`);
    expect(c.detail).toEqual({ effective: docker, permitted: docker, bounding: docker, ambient: [], inheritable: [] });
    expect(c.found).not.toMatch(/a80425fb/);
  });

  it('reads identity, seccomp, masks, mounts and the cgroup v1 files of a host-namespace container', () => {
    expect(row(input, 'uid').found).toBe('0 (root)');
    expect(row(input, 'groups').found).toBe('0 (root)');
    expect(row(input, 'seccomp').found).toBe('filter (1 filter)');
    expect(row(input, 'privileged').found).toMatch(/^\/sys read-only, \/proc\/sys read-only, \/proc\/keys masked/);
    expect(row(input, 'root-readonly').found).toBe('writable (overlay)');
    expect(row(input, 'exec-mounts').found).toBe('/, /dev, /run/lock, /tmp, /var/tmp (setuid honoured on /, /run/lock, /tmp, /var/tmp)');
    expect(row(input, 'memory').found).toBe('no limit (cgroup v1)');
    expect(row(input, 'lsm').found).toBe('none (this kernel has neither AppArmor nor SELinux)');
  });
});

describe('recorded: Docker, cgroup v1, --user 65534:65534 --cap-drop ALL --read-only --tmpfs /tmp --security-opt no-new-privileges --memory 64m --pids-limit 64 --cpus 0.5', () => {
  const input = loadFixture('v1-docker-hardened');

  it('passes everything but the LSM (this kernel has none)', () => {
    expect(verdicts(input)).toEqual({
      uid: 'pass', gid: 'pass', groups: 'pass', capabilities: 'pass', 'no-new-privs': 'pass', seccomp: 'pass',
      lsm: 'warn', privileged: 'pass', 'root-readonly': 'pass', 'exec-mounts': 'pass', 'passwd-writable': 'pass',
      memory: 'pass', pids: 'pass', cpu: 'pass', pid1: 'pass', 'setuid-exe': 'pass',
    });
    expect(audit(input).strictFailed).toBe(false);
  });

  it('shows the limits in units and where they come from', () => {
    expect(row(input, 'memory').found).toBe('64 MiB (cgroup v1: /sys/fs/cgroup/memory)');
    expect(row(input, 'pids').found).toBe('64 tasks (cgroup v1: /sys/fs/cgroup/pids)');
    expect(row(input, 'cpu').found).toBe('0.5 CPU (cgroup v1: /sys/fs/cgroup/cpu)');
    expect(row(input, 'memory').detail).toEqual({ limit: 67108864, cgroup: 1 });
    expect(row(input, 'capabilities').found).toBe('effective, permitted, bounding: none');
    expect(row(input, 'uid').found).toBe('65534 (nobody)');
  });
});

describe('recorded: a cgroup v1 hybrid host (v1 controllers + empty unified), root, no container', () => {
  const input = loadFixture('v1-hybrid-host');

  it('pins every verdict', () => {
    expect(verdicts(input)).toEqual({
      uid: 'fail', gid: 'warn', groups: 'pass', capabilities: 'fail', 'no-new-privs': 'fail', seccomp: 'fail',
      lsm: 'warn', privileged: 'fail', 'root-readonly': 'warn', 'exec-mounts': 'warn', 'passwd-writable': 'warn',
      memory: 'warn', pids: 'warn', cpu: 'warn', pid1: 'pass', 'setuid-exe': 'pass',
    });
  });

  it('says "all except" for a nearly full set, and finds no masks', () => {
    expect(row(input, 'capabilities').found).toBe('effective, permitted, bounding: all except CAP_SYS_RESOURCE');
    expect(row(input, 'privileged').found).toMatch(/^none: /);
    expect(row(input, 'pids').found).toBe('no limit (cgroup v1; root cgroup)');
    expect(row(input, 'pid1').found).toMatch(/^no: pid \d+, PID 1 is init$/);
  });
});

describe('recorded: gVisor (runsc do, release 20221219)', () => {
  const input = loadFixture('gvisor-runsc-do');

  it('names the sandbox and says unknown for what its /proc leaves out', () => {
    const report = audit(input);
    expect(report.sandbox).toBe('gvisor');
    expect(row(input, 'no-new-privs').found).toBe(UNEXPOSED);
    expect(row(input, 'no-new-privs').verdict).toBe('unknown');
    expect(row(input, 'seccomp')).toMatchObject({ verdict: 'unknown', found: expect.stringMatching(/^unknown \(gVisor always reports 0/) });
    for (const id of ['memory', 'pids', 'cpu', 'lsm']) expect(row(input, id)).toMatchObject({ verdict: 'unknown', found: UNEXPOSED });
    expect(row(input, 'privileged').verdict).toBe('unknown');
    // what it does expose is still judged: root with (nearly) all capabilities
    expect(row(input, 'uid').verdict).toBe('fail');
    expect(row(input, 'capabilities').found).toBe('effective, permitted, bounding, inheritable: all except CAP_NET_RAW, CAP_PERFMON, CAP_BPF, CAP_CHECKPOINT_RESTORE');
    expect(report.strictFailed).toBe(true);
  });

  it('parses its mountinfo, which has an empty optional field ("rw  - overlay")', () => {
    expect(row(input, 'root-readonly').found).toBe('writable (overlay)');
  });
});

describe('hand-made: cgroup v2', () => {
  it('Docker with a private cgroup namespace: limits on the namespace root, AppArmor enforced', () => {
    const input = loadFixture('v2-docker-cgroupns');
    expect(verdicts(input)).toMatchObject({ memory: 'pass', pids: 'pass', cpu: 'pass', lsm: 'pass', 'root-readonly': 'pass', 'exec-mounts': 'pass' });
    expect(row(input, 'memory').found).toBe('64 MiB (cgroup v2: /sys/fs/cgroup)');
    expect(row(input, 'cpu').found).toBe('0.5 CPU (cgroup v2: /sys/fs/cgroup)');
    expect(row(input, 'lsm').found).toBe('AppArmor docker-default (enforce)');
    expect(row(input, 'privileged').found).toContain('/proc/kcore masked');
  });

  it('a systemd session: the parent slice limit binds; the escaped mount point is decoded', () => {
    const input = loadFixture('v2-systemd-host');
    expect(row(input, 'memory').found).toBe('4 GiB (cgroup v2: /sys/fs/cgroup/user.slice/user-1000.slice)');
    expect(row(input, 'pids').found).toBe('10813 tasks (cgroup v2: /sys/fs/cgroup/user.slice/user-1000.slice)');
    expect(row(input, 'cpu').found).toBe('2 CPU (cgroup v2: /sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope)');
    expect(row(input, 'exec-mounts').found).toBe('/dev/shm, /home/alice backup, /tmp, /var/tmp (setuid honoured on /home/alice backup, /tmp, /var/tmp)');
    expect(row(input, 'lsm')).toMatchObject({ verdict: 'warn', found: 'AppArmor unconfined' });
    expect(row(input, 'groups').found).toBe('4 (adm), 27 (sudo), 1000 (alice)');
    // non-root with an empty effective set but a full bounding set still fails "restricted"
    expect(row(input, 'capabilities')).toMatchObject({ verdict: 'fail', found: 'effective, permitted: none; bounding: all 41' });
  });
});

describe('odd /proc/self/status', () => {
  it('a saved uid of 0 fails and every id is shown', () => {
    const input = withStatus('v1-docker-hardened', { Uid: '65534\t65534\t0\t65534' });
    expect(row(input, 'uid')).toMatchObject({ verdict: 'fail', found: 'real 65534 (nobody), effective 65534 (nobody), saved 0 (root), filesystem 65534 (nobody)' });
  });

  it('an id with no passwd entry is shown bare', () => {
    expect(row(withStatus('v1-docker-hardened', { Uid: '4321\t4321\t4321\t4321' }), 'uid').found).toBe('4321');
  });

  it('only NET_BIND_SERVICE passes "restricted"; anything else in effective, permitted, bounding or ambient fails', () => {
    const nbs = '0000000000000400';
    expect(row(withStatus('v1-docker-hardened', { CapEff: nbs, CapPrm: nbs, CapBnd: nbs, CapAmb: nbs }), 'capabilities')).toMatchObject({ verdict: 'pass', found: 'effective, permitted, bounding, ambient: CAP_NET_BIND_SERVICE' });
    expect(row(withStatus('v1-docker-hardened', { CapBnd: '0000000000002000' }), 'capabilities')).toMatchObject({ verdict: 'fail', found: 'effective, permitted: none; bounding: CAP_NET_RAW' });
    expect(row(withStatus('v1-docker-hardened', { CapAmb: '0000000000000001' }), 'capabilities').verdict).toBe('fail');
  });

  it('bits this table does not know are cap_N, never dropped', () => {
    const c = row(withStatus('v1-docker-hardened', { CapBnd: '8000020000000000' }), 'capabilities');
    expect(c.found).toBe('effective, permitted: none; bounding: cap_41, cap_63');
    expect(c.verdict).toBe('fail');
  });

  it('a missing or malformed capability line makes the check unknown, unless another set already fails', () => {
    expect(row(withStatus('v1-docker-hardened', { CapBnd: null }), 'capabilities')).toMatchObject({ verdict: 'unknown', found: 'effective, permitted: none; bounding: unknown (not exposed by this kernel)' });
    expect(row(withStatus('v1-docker-hardened', { CapEff: 'zz' }), 'capabilities').verdict).toBe('unknown');
    expect(row(withStatus('v1-docker-root', { CapBnd: null }), 'capabilities').verdict).toBe('fail');
    // CapAmb absent (gVisor) is fine: ambient is a subset of permitted
    expect(row(withStatus('v1-docker-hardened', { CapAmb: null }), 'capabilities').verdict).toBe('pass');
  });

  it('NoNewPrivs and Seccomp: absent is unknown, odd values are unknown, strict mode passes', () => {
    expect(row(withStatus('v1-docker-root', { NoNewPrivs: null }), 'no-new-privs')).toMatchObject({ verdict: 'unknown', found: UNEXPOSED });
    expect(row(withStatus('v1-docker-root', { NoNewPrivs: '7' }), 'no-new-privs').verdict).toBe('unknown');
    expect(row(withStatus('v1-docker-root', { Seccomp: '1', Seccomp_filters: null }), 'seccomp')).toMatchObject({ verdict: 'pass', found: 'strict mode' });
    expect(row(withStatus('v1-docker-root', { Seccomp: '2', Seccomp_filters: null }), 'seccomp').found).toBe('filter');
    expect(row(withStatus('v1-docker-root', { Seccomp: '2', Seccomp_filters: '3' }), 'seccomp').found).toBe('filter (3 filters)');
    expect(row(withStatus('v1-docker-root', { Seccomp: '0' }), 'seccomp')).toMatchObject({ verdict: 'fail', found: 'none' });
    expect(row(withStatus('v1-docker-root', { Seccomp: null }), 'seccomp')).toMatchObject({ verdict: 'unknown', found: UNEXPOSED });
  });

  it('an empty or missing status file leaves identity unknown and strict not failed by it', () => {
    for (const input of [withFiles('v1-docker-hardened', { '/proc/self/status': '' }), withFiles('v1-docker-hardened', { '/proc/self/status': null })]) {
      const report = audit(input);
      for (const id of ['uid', 'gid', 'groups', 'capabilities', 'no-new-privs', 'seccomp', 'pid1']) expect(row(input, id).verdict).toBe('unknown');
      expect(report.strictFailed).toBe(false); // unknown is not a failure; the table says what is unknown
    }
  });

  it('PID 1 in its namespace (NSpid last field) is a warning', () => {
    expect(row(withStatus('v1-docker-root', { NSpid: '4242\t1', Pid: '1' }), 'pid1')).toMatchObject({ verdict: 'warn', found: expect.stringMatching(/^yes/) });
  });
});

describe('odd mountinfo, LSM labels, /etc/passwd, the executable', () => {
  const mi = (lines: string[]) => withFiles('v1-docker-hardened', { '/proc/self/mountinfo': lines.join('\n') + '\n' });

  it('read-only in the superblock options counts; the last mount on / wins; malformed lines are skipped', () => {
    expect(row(mi(['1 0 0:1 / / rw - ext4 /dev/x ro']), 'root-readonly').found).toBe('read-only (ext4)');
    expect(row(mi(['1 0 0:1 / / ro - ext4 /dev/x rw', '2 1 0:2 / / rw - overlay overlay rw']), 'root-readonly').found).toBe('writable (overlay)');
    expect(row(mi(['garbage', '1 0 0:1 / / ro - ext4 /dev/x rw', '2 1 0:2 / /x rw']), 'root-readonly').found).toBe('read-only (ext4)');
    expect(row(mi(['2 1 0:2 / /data rw - ext4 /dev/x rw']), 'root-readonly').verdict).toBe('unknown');
    expect(row(withFiles('v1-docker-hardened', { '/proc/self/mountinfo': null }), 'root-readonly')).toMatchObject({ verdict: 'unknown', found: UNEXPOSED });
  });

  it('AppArmor and SELinux labels', () => {
    const lsm = (current: string, apparmor?: string) => row(withFiles('v1-docker-hardened', { '/proc/self/attr/current': current, '/proc/self/attr/apparmor/current': apparmor ?? null }), 'lsm');
    expect(lsm('system_u:system_r:container_t:s0:c12,c34\0')).toMatchObject({ verdict: 'pass', found: 'SELinux system_u:system_r:container_t:s0:c12,c34' });
    expect(lsm('system_u:system_r:spc_t:s0')).toMatchObject({ verdict: 'warn' });
    expect(lsm('unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023')).toMatchObject({ verdict: 'warn' });
    expect(lsm('myprofile (complain)\n')).toMatchObject({ verdict: 'warn', found: 'AppArmor myprofile (complain)' });
    expect(lsm('', 'docker-default (enforce)\n')).toMatchObject({ verdict: 'pass', found: 'AppArmor docker-default (enforce)' });
    expect(row(withFiles('v1-docker-hardened', { '/proc/self/attr/current': null }), 'lsm')).toMatchObject({ verdict: 'unknown', found: UNEXPOSED });
  });

  it('/etc/passwd: missing passes, unreadable is unknown', () => {
    const input = loadFixture('v1-docker-root');
    input.paths['/etc/passwd'] = { errno: 'ENOENT' };
    expect(row(input, 'passwd-writable')).toMatchObject({ verdict: 'pass', found: 'no /etc/passwd' });
    input.paths['/etc/passwd'] = { errno: 'EACCES' };
    expect(row(input, 'passwd-writable').verdict).toBe('unknown');
  });

  it('the executable: setuid or setgid fails, an unreadable one is unknown', () => {
    const input = loadFixture('v1-docker-hardened');
    input.exe = { path: '/usr/local/bin/stepdown', mode: 0o104755 };
    expect(row(input, 'setuid-exe')).toMatchObject({ verdict: 'fail', found: '/usr/local/bin/stepdown mode 4755 (setuid)', fix: { docker: 'chmod ug-s /usr/local/bin/stepdown in the image' } });
    input.exe = { path: '/x', mode: 0o102755 };
    expect(row(input, 'setuid-exe').found).toBe('/x mode 2755 (setgid)');
    input.exe = { path: '/x', errno: 'ENOENT' };
    expect(row(input, 'setuid-exe').verdict).toBe('unknown');
  });

  it('a writable directory on a noexec mount is fine; one on an exec mount is listed', () => {
    const input = loadFixture('v1-docker-hardened');
    input.paths['/dev/shm'] = { dir: true, writable: true }; // tmpfs with noexec in this recording
    expect(row(input, 'exec-mounts').verdict).toBe('pass');
    input.paths['/dev'] = { dir: true, writable: true }; // tmpfs rw,nosuid: exec allowed
    expect(row(input, 'exec-mounts')).toMatchObject({ verdict: 'warn', found: '/dev (all nosuid)' });
  });
});

describe('gVisor detection', () => {
  it.each([
    ['Linux version 4.4.0 #1 SMP Sun Jan 10 15:06:54 PST 2016\n', 'gvisor'],
    ['Linux version 4.19.0-gvisor #1 SMP Sun Jan 10 15:06:54 PST 2016\n', 'gvisor'],
    ['Linux version 6.18.44-fc-v782 (builder@sandboxing) (gcc (GCC) 15.3.0, GNU ld (GNU Binutils) 2.46) #1 SMP PREEMPT_DYNAMIC @0\n', null],
    ['Linux version 4.4.0-210-generic (buildd@lgw01-amd64-009) (gcc version 5.4.0 20160609 (Ubuntu 5.4.0-6ubuntu1~16.04.12) ) #242-Ubuntu SMP Fri Apr 16 09:57:56 UTC 2021\n', null],
    [undefined, null],
  ])('%j → %s', (text, sandbox) => {
    expect(detectSandbox(text)).toBe(sandbox);
  });
});

describe('the real reader', () => {
  it('reads this machine without throwing, and every check gets a verdict', () => {
    const input = readAuditInput();
    expect(typeof input.files['/proc/self/status']).toBe('string');
    expect(Object.keys(input.paths)).toContain('/etc/passwd');
    const report = audit(input);
    expect(report.checks.map((c) => c.id)).toEqual(IDS);
    expect(report.checks.every((c) => ['pass', 'warn', 'fail', 'unknown'].includes(c.verdict))).toBe(true);
  });
});
