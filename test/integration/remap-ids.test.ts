// --remap UID[:GID] / STEPDOWN_REMAP for real, as root, each run in a private mount namespace
// with its own /etc, /home and /root. The planner is the one --match uses (remap-safety covers
// it in depth); these prove the --remap entry reaches it with the given ids and gets the same
// protections: root and gid 0, system ids and the opt-in, locking, read-only /etc, no-op restart.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { BASE_PATH, IS_ROOT, PROBE, type RunOptions, type Subject, identityOf, stepdown, subjects } from '../helpers/harness.js';
import { owner, startWithEtc, world } from '../helpers/remap-world.js';

const CHOOSE = "both ask for a remap: choose one (--match takes the ids from a path's owner, --remap from its argument); an empty STEPDOWN_MATCH or STEPDOWN_REMAP is off";

describe.skipIf(!IS_ROOT).each(subjects())('--remap ($name)', (subject: Subject) => {
  let w: ReturnType<typeof world>;
  let home: string;
  beforeEach(() => {
    w = world();
    home = path.join(w.dir, 'home/ops');
    fs.writeFileSync(path.join(home, 'other'), '');
    fs.chownSync(path.join(home, 'other'), 7, 7);
  });
  const run = (args: string[], opts: RunOptions = {}) => stepdown(subject, args, { etcDir: w.etc, ...opts });
  const unchanged = () => {
    w.etcUnchanged();
    w.opsHomeUnchanged();
  };
  const refused = (r: { status: number | null; stderr: string }, message: string) => {
    expect([r.status, r.stderr]).toEqual([125, `stepdown: ${message}\n`]);
    expect(w.ran()).toBe(false);
  };
  const mtimes = () => ['passwd', 'group'].map((f) => fs.statSync(path.join(w.etc, f)).mtimeMs);
  /** a tree for --chown: the user's entries and other owners' */
  function data(): string {
    const d = path.join(w.dir, 'data');
    fs.mkdirSync(d);
    for (const [name, uid, gid] of [['both', 10001, 10001], ['uidonly', 10001, 5], ['gidonly', 7, 10001], ['other', 7, 7], ['roots', 0, 0]] as const) {
      fs.writeFileSync(path.join(d, name), name);
      fs.chownSync(path.join(d, name), uid, gid);
    }
    fs.chownSync(d, 10001, 10001);
    return d;
  }

  it('UID:GID: the command runs with those ids; passwd/group byte-exact; the home and --chown trees re-owned, other owners untouched', () => {
    const d = data();
    const r = run(['--remap', '4321:4322', '--chown', d, 'ops', '--', 'sh', '-c', `touch ${d}/made-by-app && ${PROBE[2]}`]);
    expect(r.stderr).toMatch(new RegExp(`^stepdown: ops is now uid 4321 gid 4322 \\(was 10001:10001\\); wrote /etc/group and /etc/passwd; re-owned 6 of 9 entries in ${home}, ${d} \\([0-9.]+ s\\)\\n$`));
    expect(r.status).toBe(0);
    expect(identityOf(r.stdout)).toBe('4321:4322:4322');
    expect(r.stdout).toMatch(new RegExp(`^HOME=${home}$`, 'm'));
    expect(w.read('passwd')).toBe(w.passwd.replace('ops:x:10001:10001:', 'ops:x:4321:4322:'));
    expect(w.read('group')).toBe(w.group.replace('ops:x:10001:', 'ops:x:4322:'));
    expect(fs.readdirSync(w.etc).sort()).toEqual(['group', 'passwd']);
    expect([home, 'file', 'other'].map((n) => owner(path.resolve(home, n)))).toEqual(['4321:4322', '4321:4322', '7:7']);
    expect(['', 'both', 'uidonly', 'gidonly', 'other', 'roots', 'made-by-app'].map((n) => owner(path.join(d, n)))).toEqual(['4321:4322', '4321:4322', '4321:5', '7:4322', '7:7', '0:0', '4321:4322']);
    expect([owner(path.join(w.dir, 'home/dev/file')), owner(path.join(w.dir, 'home/app/file'))]).toEqual(['10003:10003', '1001:0']);
  });

  it('UID alone: only the uid changes; the primary gid and /etc/group stay', () => {
    const d = data();
    const r = run(['--remap', '4321', '--chown', d, 'ops', '--', ...PROBE]);
    expect(r.stderr).toMatch(/^stepdown: ops is now uid 4321 gid 10001 \(was 10001:10001\); wrote \/etc\/passwd; re-owned /);
    expect(identityOf(r.stdout)).toBe('4321:10001:10001');
    expect(w.read('passwd')).toBe(w.passwd.replace('ops:x:10001:10001:', 'ops:x:4321:10001:'));
    expect(w.read('group')).toBe(w.group);
    expect(['both', 'uidonly', 'gidonly', 'other'].map((n) => owner(path.join(d, n)))).toEqual(['4321:10001', '4321:5', '7:10001', '7:7']);
  });

  it.each([['UID:GID', '4321:4322'], ['UID', '4321']])('a restart with the same ids (%s) is a no-op: nothing printed, nothing written', (_, ids) => {
    expect(run(['--remap', ids, 'ops', 'true']).status).toBe(0);
    const before = { mtimes: mtimes(), bytes: w.read('passwd') + w.read('group') };
    const again = run(['--remap', ids, 'ops', '--', 'id', '-u']);
    expect([again.status, again.stdout, again.stderr]).toEqual([0, '4321\n', '']);
    expect({ mtimes: mtimes(), bytes: w.read('passwd') + w.read('group') }).toEqual(before);
  });

  it.each([
    ['0:0', "--remap '0:0': uid 0 is root; a remap never makes anyone root: give the ids of the host user who owns the files"],
    ['0', "--remap '0': uid 0 is root; a remap never makes anyone root: give the ids of the host user who owns the files"],
    ['0:4321', "--remap '0:4321': uid 0 is root; a remap never makes anyone root: give the ids of the host user who owns the files"],
    ['4321:0', "--remap '4321:0': gid 0 is group root; a remap never gives anyone group 0: give the host user's own group, or UID alone to keep the user's gid"],
    ['4294967295', "--remap '4294967295': uid 4294967295 is out of range 1-2147483647; write UID:GID or UID in decimal, the host user's ids (e.g. 1000:1000 from id -u and id -g)"],
    ['4321:4294967294', "--remap '4321:4294967294': gid 4294967294 is out of range 1-2147483647; write UID:GID or UID in decimal, the host user's ids (e.g. 1000:1000 from id -u and id -g)"],
    ['04321', "--remap '04321': uid '04321' has a leading zero; write it as 4321"],
  ])('--remap %s is refused (125) before anything changes, even with --allow-system-ids', (ids, message) => {
    refused(run(['--allow-system-ids', '--remap', ids, 'ops', '--', ...w.cmd]), message);
    unchanged();
    refused(run(['ops', '--', ...w.cmd], { env: { STEPDOWN_REMAP: ids } }), message.replace(`--remap '${ids}'`, `STEPDOWN_REMAP='${ids}'`));
    unchanged();
  });

  it.each([['root'], ['0'], ['root:root']])('the user %s (uid 0) is refused', (spec) => {
    refused(run(['--remap', '4321', spec, '--', ...w.cmd]), "--remap 4321 would remap root, which is uid 0: a remap never changes root's ids; name a non-root user, or unset STEPDOWN_REMAP for this command");
    unchanged();
  });

  it.each([
    ['1:4321', 'uid 1, which is the uid of daemon, which carries rights in the image', '1:4321:4321'],
    ['101', 'uid 101, which is the uid of messagebus, a system account below 1000', '101:10001:10001'],
    ['4321:42', 'gid 42, which is group shadow, which carries rights in the image', '4321:42:42'],
  ])('a system id (%s) is refused without the opt-in; accepted with --allow-system-ids or STEPDOWN_ALLOW_SYSTEM_IDS=1', (ids, what, got) => {
    refused(run(['--remap', ids, 'ops', '--', ...w.cmd]), `--remap ${ids} asks for ${what}: ops would get its rights; refusing. Give the ids of an ordinary host user, or pass --allow-system-ids (STEPDOWN_ALLOW_SYSTEM_IDS=1) to accept it`);
    unchanged();
    const r = run(['-q', '--allow-system-ids', '--remap', ids, 'ops', '--', ...w.cmd]);
    expect([r.status, r.stdout, r.stderr]).toEqual([0, `${got}\n`, '']);
    w = world();
    const e = run(['-q', 'ops', '--', ...w.cmd], { env: { STEPDOWN_REMAP: ids, STEPDOWN_ALLOW_SYSTEM_IDS: '1' } });
    expect([e.status, e.stdout, e.stderr]).toEqual([0, `${got}\n`, '']);
  });

  it("1000:1000, the image's node user and group: the uid is shared (usermod -o) and the group joined, with notices", () => {
    const r = run(['--remap', '1000:1000', 'ops', '--', ...w.cmd]);
    expect(r.stderr).toMatch(/^stepdown: uid 1000 already belongs to node; ops now shares it \(like usermod -o\)\nstepdown: gid 1000 already belongs to group node; it becomes ops's primary group\nstepdown: ops is now uid 1000 gid 1000 \(was 10001:10001\); wrote \/etc\/passwd; re-owned /);
    expect([r.status, r.stdout]).toEqual([0, '1000:1000:1000\n']);
    expect(w.read('passwd')).toBe(w.passwd.replace('ops:x:10001:10001:', 'ops:x:1000:1000:'));
    expect(w.read('group')).toBe(w.group);
  });

  it("65534:65534 (nobody, nogroup) is an ordinary id: shared and joined, with notices", () => {
    const r = run(['--remap', '65534:65534', 'ops', '--', ...w.cmd]);
    expect(r.stderr).toContain('stepdown: uid 65534 already belongs to nobody; ops now shares it (like usermod -o)\n');
    expect([r.status, r.stdout]).toEqual([0, '65534:65534:65534\n']);
  });

  it('a user whose primary gid is 0 keeps it; only the uid follows, with a notice', () => {
    const r = run(['--remap', '4321:4321', 'app', '--', ...w.cmd]);
    expect(r.stderr).toContain("stepdown: app's primary group is gid 0; it stays 0 and only the uid follows --remap 4321:4321 (a remap never changes group 0)\n");
    expect([r.status, r.stdout]).toEqual([0, '4321:0:0\n']);
    expect(w.read('group')).toBe(w.group);
  });

  it.each([
    [['--match', 'VOL', '--remap', '4321'], {}, `--match VOL and --remap 4321 ${CHOOSE}`],
    [['--match', 'VOL'], { STEPDOWN_REMAP: '4321' }, `--match VOL and STEPDOWN_REMAP=4321 ${CHOOSE}`],
    [['--remap', '4321'], { STEPDOWN_MATCH: 'VOL' }, `STEPDOWN_MATCH=VOL and --remap 4321 ${CHOOSE}`],
    [[], { STEPDOWN_MATCH: 'VOL', STEPDOWN_REMAP: '4321' }, `STEPDOWN_MATCH=VOL and STEPDOWN_REMAP=4321 ${CHOOSE}`],
  ])('%j with %j: refused, nothing changed', (args, env, message) => {
    const v = w.vol(5000, 5000);
    const sub = (s: string) => s.replaceAll('VOL', v);
    refused(run([...args.map(sub), 'ops', '--', ...w.cmd], { env: Object.fromEntries(Object.entries(env).map(([k, x]) => [k, sub(x)])) }), sub(message));
    unchanged();
  });

  it('STEPDOWN_REMAP works like --remap; empty is off (and then does not conflict with --match); an empty --remap is refused', () => {
    refused(run(['--remap', '', 'ops', '--', ...w.cmd]), "--remap '' gives no ids; write UID:GID or UID (e.g. 1000:1000), or leave out --remap (an empty STEPDOWN_REMAP means off)");
    unchanged();
    const r = run(['-q', 'ops', '--', ...w.cmd], { env: { STEPDOWN_REMAP: '4321:4322' } });
    expect([r.status, r.stdout, r.stderr]).toEqual([0, '4321:4322:4322\n', '']);
    w = world();
    const off = run(['ops', '--', ...w.cmd], { env: { STEPDOWN_REMAP: '' } });
    expect([off.status, off.stdout, off.stderr]).toEqual([0, '10001:10001:10001\n', '']);
    expect(w.read('passwd')).toBe(w.passwd);
    const m = run(['-q', '--match', w.vol(5000, 5000), 'ops', '--', ...w.cmd], { env: { STEPDOWN_REMAP: '' } });
    expect([m.status, m.stdout]).toEqual([0, '5000:5000:5000\n']);
  });

  it('a numeric user-spec is refused on the first start, naming the user', () => {
    refused(run(['--remap', '4321:4321', '10001', '--', ...w.cmd]), "--remap needs the user by name, not uid 10001: the remap changes its uid, so the next start would not find it; write 'ops'");
    unchanged();
  });

  it('user:group with a gid is refused (the gid would go unused); with UID alone only the uid moves', () => {
    refused(run(['--remap', '4321:4322', 'ops:users', '--', ...w.cmd]), "--remap 4321:4322 gives a gid, but 'ops:users' names the group to run with: give the uid alone (--remap 4321), or name the user alone so its primary group gets gid 4322");
    unchanged();
    const r = run(['-q', '--remap', '4321', 'ops:users', '--', ...w.cmd]);
    expect([r.status, r.stdout]).toEqual([0, '4321:100:100\n']);
  });

  it('-q silences every notice', () => {
    const r = run(['-q', '--remap', '1000:1000', 'ops', '--', ...w.cmd]);
    expect([r.status, r.stdout, r.stderr]).toEqual([0, '1000:1000:1000\n', '']);
  });

  it('read-only /etc: writes nothing, re-owns nothing, runs with the given ids for this start', () => {
    const r = run(['--remap', '4321:4322', 'ops', '--', ...w.cmd], { setup: 'mount -o remount,bind,ro /etc' });
    expect(r.stderr).toBe('stepdown: /etc/group and /etc/passwd cannot be written (read-only): nothing was written and no file re-owned; running as uid 4321 gid 4322 for this start only\n');
    expect([r.status, r.stdout]).toEqual([0, '4321:4322:4322\n']);
    unchanged();
  });

  it('a lock held by a live process: waits, then gives up in one line, nothing changed', () => {
    fs.writeFileSync(path.join(w.etc, 'passwd.lock'), String(process.pid));
    const r = run(['-q', '--remap', '4321', 'ops', '--', ...w.cmd], { env: { STEPDOWN_TEST_LOCK_WAIT_MS: '300' } });
    refused(r, `/etc/passwd.lock is held by pid ${process.pid} (another stepdown, or useradd/usermod) and was not released within 300 ms; /etc/passwd and /etc/group are unchanged. Retry; if no such process runs, remove /etc/passwd.lock`);
    expect(w.read('passwd')).toBe(w.passwd);
  });

  it('three starts at once (two the same, one another user), 4 times: every change lands, no lock or temp file stays', async () => {
    for (let i = 0; i < 4; i++) {
      if (i > 0) w = world();
      const start = (ids: string, user: string) =>
        startWithEtc(w.etc, ['env', '-i', `PATH=${BASE_PATH}`, `STEPDOWN_REMAP=${ids}`, ...subject.argv, '-q', user, '--', 'id', '-u']);
      const all = await Promise.all([start('4321:4321', 'ops'), start('5432:5432', 'dev'), start('4321:4321', 'ops')]);
      expect(all).toEqual([
        { code: 0, out: '4321\n', err: '' },
        { code: 0, out: '5432\n', err: '' },
        { code: 0, out: '4321\n', err: '' },
      ]);
      expect(w.read('passwd')).toBe(w.passwd.replace('ops:x:10001:10001:', 'ops:x:4321:4321:').replace('dev:x:10003:10003:', 'dev:x:5432:5432:'));
      expect(w.read('group')).toBe(w.group.replace('ops:x:10001:', 'ops:x:4321:').replace('dev:x:10003:', 'dev:x:5432:'));
      expect(fs.readdirSync(w.etc).sort()).toEqual(['group', 'passwd']);
    }
  }, 120_000);
});
