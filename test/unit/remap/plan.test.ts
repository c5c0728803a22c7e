import { describe, expect, it } from 'vitest';
import { joinLines, splitLines } from '../../../src/system/etc-files.js';
import { changes, planRemap } from '../../../src/remap/plan.js';
import { resolveIdentity } from '../../../src/identity/resolve.js';
import { parseUserSpec } from '../../../src/identity/user-spec.js';

const PASSWD = `root:x:0:0:root:/root:/bin/bash
# the image's node user
node:x:1000:1000::/home/node:/bin/sh
ops:x:10001:10001:Ops:/home/ops:/bin/sh
buddy:x:10002:10001::/home/buddy:/bin/sh
`;
const GROUP = `root:x:0:
node:x:1000:
ops:x:10001:
app:x:2000:ops
`;
const db = { passwd: splitLines(PASSWD), group: splitLines(GROUP) };
const plan = (spec: string, uid: number, gid: number, d = db) => planRemap(parseUserSpec(spec), d, { uid, gid }, { match: '/data' });
const text = (f: { lines: string[] } | undefined) => (f ? joinLines(f) : undefined);

describe('planRemap', () => {
  it('gives the user the owner uid, renumbers its primary group, other members follow; every other byte kept', () => {
    const p = plan('ops', 4321, 4321);
    expect(p).toMatchObject({ userName: 'ops', home: '/home/ops', from: { uid: 10001, gid: 10001 }, to: { uid: 4321, gid: 4321 }, notices: [] });
    expect(text(p.passwd)).toBe(PASSWD.replace('ops:x:10001:10001:', 'ops:x:4321:4321:').replace('buddy:x:10002:10001:', 'buddy:x:10002:4321:'));
    expect(text(p.group)).toBe(GROUP.replace('ops:x:10001:', 'ops:x:4321:'));
    const after = resolveIdentity(parseUserSpec('ops'), { passwd: p.passwd!, group: p.group! });
    expect(after).toMatchObject({ uid: 4321, gid: 4321, groups: [4321, 2000], home: '/home/ops' });
  });

  it('already matching: changes nothing (a container restart writes nothing)', () => {
    const p = plan('ops', 10001, 10001);
    expect(changes(p)).toBe(false);
    expect(p.passwd).toBeUndefined();
    expect(p.group).toBeUndefined();
  });

  it("a uid that is another user's is shared, with a notice (usermod -o)", () => {
    const p = plan('ops', 1000, 10001);
    expect(p.notices).toEqual(['uid 1000 already belongs to node; ops now shares it (like usermod -o)']);
    expect(text(p.passwd)).toBe(PASSWD.replace('ops:x:10001:', 'ops:x:1000:'));
  });

  it("a gid that is another group's becomes the user's primary group; nothing is renumbered", () => {
    const p = plan('ops', 1000, 1000);
    expect(p.notices).toContain("gid 1000 already belongs to group node; it becomes ops's primary group");
    expect(text(p.passwd)).toBe(PASSWD.replace('ops:x:10001:10001:', 'ops:x:1000:1000:'));
    expect(p.group).toBeUndefined();
  });

  it('never makes anyone uid 0 or gid 0: a root-owned path leaves the ids, with notices', () => {
    const p = plan('ops', 0, 0);
    expect(changes(p)).toBe(false);
    expect(p.notices).toEqual([
      '/data is owned by uid 0; ops keeps uid 10001 (stepdown never makes anyone root)',
      '/data has gid 0; ops keeps gid 10001 (stepdown never gives anyone group 0)',
    ]);
    expect(plan('ops', 4321, 0)).toMatchObject({ to: { uid: 4321, gid: 10001 } });
  });

  it('user:group remaps the uid only', () => {
    const p = plan('ops:app', 4321, 4321);
    expect(p.to).toEqual({ uid: 4321, gid: 10001 });
    expect(p.group).toBeUndefined();
    const after = resolveIdentity(parseUserSpec('ops:app'), { passwd: p.passwd!, group: db.group });
    expect(after).toMatchObject({ uid: 4321, gid: 2000, groups: [2000] });
  });

  it('refuses the user by uid before anything changes: it would not be found on the next start', () => {
    expect(() => plan('10001', 4321, 4321)).toThrow("--match needs the user by name, not uid 10001: the remap changes its uid, so the next start would not find it; write 'ops'");
    expect(() => plan('10001:app', 4321, 4321)).toThrow("write 'ops:app'");
  });

  it('refuses a user without a passwd entry', () => {
    expect(() => plan('4242:4242', 4321, 4321)).toThrow(/--match needs the user by name, not uid 4242/);
    expect(() => plan('ghost', 4321, 4321)).toThrow(/'ghost' has none/);
  });

  it('finishes a job interrupted between writing /etc/group and /etc/passwd', () => {
    const groupDone = { passwd: db.passwd, group: splitLines(GROUP.replace('ops:x:10001:', 'ops:x:4321:')) };
    const p = plan('ops', 4321, 4321, groupDone);
    expect(p.notices).toEqual([]); // not mistaken for a collision with "another" group
    expect(text(p.passwd)).toBe(PASSWD.replace('ops:x:10001:10001:', 'ops:x:4321:4321:').replace('buddy:x:10002:10001:', 'buddy:x:10002:4321:'));
    expect(p.group).toBeUndefined();
  });
});

describe('planRemap: never root, never a system id by accident', () => {
  const SYS_PASSWD = PASSWD + 'app:x:1001:0::/home/app:/bin/sh\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\nwww-data:x:33:33::/var/www:/bin/sh\nstaffer:x:10005:50::/home/staffer:/bin/sh\n';
  const SYS_GROUP = GROUP + 'daemon:x:1:\nshadow:x:42:\nwww-data:x:33:\nusers:x:100:\nstaff:x:50:\ndocker:x:2999:\nssl-cert:x:2998:\nssh_keys:x:2997:\n';
  const sys = { passwd: splitLines(SYS_PASSWD), group: splitLines(SYS_GROUP) };
  const p = (spec: string, uid: number, gid: number, allowSystemIds = false) => planRemap(parseUserSpec(spec), sys, { uid, gid }, { match: '/data' }, { allowSystemIds });

  it.each(['root', 'root:root', '0', '0:0'])('refuses to remap %s (uid 0), whatever the volume', (spec) => {
    expect(() => p(spec, 2000, 2000)).toThrow("--match /data would remap root, which is uid 0: a remap never changes root's ids");
    expect(() => p(spec, 0, 0, true)).toThrow(/would remap root/);
  });

  it('a primary gid of 0 stays 0; only the uid follows; group root is not touched', () => {
    const plan = p('app', 4321, 4321);
    expect(plan.to).toEqual({ uid: 4321, gid: 0 });
    expect(plan.group).toBeUndefined();
    expect(text(plan.passwd)).toBe(SYS_PASSWD.replace('app:x:1001:0:', 'app:x:4321:0:'));
    expect(plan.notices).toEqual(["app's primary group is gid 0; it stays 0 and only the uid follows /data (a remap never changes group 0)"]);
  });

  it.each([
    [1, 4321, /uid 1, which is the uid of daemon, which carries rights/],
    [4321, 42, /gid 42, which is group shadow, which carries rights/],
    [4321, 1, /gid 1, which is group daemon/],
    [4321, 50, /gid 50, which is group staff/],
    [4321, 2999, /gid 2999, which is group docker/], // a privileged name above 1000
    [4321, 2998, /gid 2998, which is group ssl-cert/], // reads private keys (/etc/ssl/private)
    [4321, 2997, /gid 2997, which is group ssh_keys/], // reads the SSH host keys
  ])('refuses %i:%i without the opt-in; accepts it with', (uid, gid, message) => {
    expect(() => p('ops', uid, gid)).toThrow(message);
    expect(() => p('ops', uid, gid)).toThrow('or pass --allow-system-ids (STEPDOWN_ALLOW_SYSTEM_IDS=1) to accept it');
    expect(p('ops', uid, gid, true).to).toEqual({ uid, gid });
  });

  it.each([
    [33, 33],
    [1000, 100],
    [4321, 4321],
    [65534, 4321],
  ])('accepts ordinary ids %i:%i', (uid, gid) => {
    expect(p('ops', uid, gid).to).toEqual({ uid, gid });
  });

  it('never renumbers a system group: the user moves to the new gid instead', () => {
    const plan = p('staffer', 10005, 4321);
    expect(plan.group).toBeUndefined();
    expect(text(plan.passwd)).toBe(SYS_PASSWD.replace('staffer:x:10005:50:', 'staffer:x:10005:4321:'));
    expect(plan.notices).toEqual(["staffer's primary group staff (gid 50) is a system group and keeps its gid; staffer's primary gid becomes 4321"]);
  });

  it('names are matched as the bytes the files hold: a UTF-8 name from argv finds its entry', () => {
    const utf8 = Buffer.from('josé', 'utf8').toString('latin1');
    const d = { passwd: splitLines(`${utf8}:x:10009:10009::/home/j:/bin/sh\n`), group: splitLines(`${utf8}:x:10009:\n`) };
    const plan = planRemap(parseUserSpec('josé'), d, { uid: 4321, gid: 4321 }, { match: '/data' });
    expect(plan.userName).toBe('josé');
    expect(text(plan.passwd)).toBe(`${utf8}:x:4321:4321::/home/j:/bin/sh\n`);
  });
});

describe('planRemap looks the user up as the run does', () => {
  it('fails on a malformed line for the user that comes before a good one, naming the line', () => {
    const d = { passwd: splitLines(PASSWD.replace('ops:x:10001', 'ops:x:bad:10001:::\nops:x:10001')), group: db.group };
    expect(() => plan('ops', 4321, 4321, d)).toThrow("/etc/passwd line 4 for user 'ops' is malformed (uid and gid must be numbers); fix the file");
  });

  it('with no usable entry at all, says --match needs one', () => {
    const d = { passwd: splitLines(PASSWD.replace('ops:x:10001:10001:Ops', 'ops:x:bad:10001:Ops')), group: db.group };
    expect(() => plan('ops', 4321, 4321, d)).toThrow("--match needs a user with an entry in /etc/passwd, and 'ops' has none; add the user in the image (useradd)");
  });
});

// --remap gives the ids itself: the same planner, the same protections, messages that name --remap.
describe('planRemap with --remap ids', () => {
  const SYS_PASSWD = PASSWD + 'app:x:1001:0::/home/app:/bin/sh\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nroot2:x:5000:5000::/root:/bin/sh\n';
  const SYS_GROUP = GROUP + 'daemon:x:1:\nshadow:x:42:\nnogroup:x:65534:\n';
  const sys = { passwd: splitLines(SYS_PASSWD), group: splitLines(SYS_GROUP) };
  const r = (spec: string, text: string, ids: { uid: number; gid?: number }, allowSystemIds = false) =>
    planRemap(parseUserSpec(spec), sys, ids, { remap: text }, { allowSystemIds });

  it('UID:GID: the uid, and the primary group renumbered, as for a volume owned by those ids', () => {
    const p = r('ops', '4321:4322', { uid: 4321, gid: 4322 });
    expect(p).toMatchObject({ from: { uid: 10001, gid: 10001 }, to: { uid: 4321, gid: 4322 }, notices: [], groupStays: false });
    expect(text(p.passwd)).toBe(SYS_PASSWD.replace('ops:x:10001:10001:', 'ops:x:4321:4322:').replace('buddy:x:10002:10001:', 'buddy:x:10002:4322:'));
    expect(text(p.group)).toBe(SYS_GROUP.replace('ops:x:10001:', 'ops:x:4322:'));
  });

  it('UID alone: only the uid; the primary gid and every group line stay', () => {
    const p = r('ops', '4321', { uid: 4321 });
    expect(p).toMatchObject({ to: { uid: 4321, gid: 10001 }, notices: [] });
    expect(text(p.passwd)).toBe(SYS_PASSWD.replace('ops:x:10001:10001:', 'ops:x:4321:10001:'));
    expect(p.group).toBeUndefined();
    expect(changes(r('ops', '10001', { uid: 10001 }))).toBe(false); // a restart: nothing to do
    expect(changes(r('ops', '10001:10001', { uid: 10001, gid: 10001 }))).toBe(false);
  });

  it('an OpenShift user (primary gid 0) keeps gid 0, with a notice naming --remap', () => {
    const p = r('app', '4321:4321', { uid: 4321, gid: 4321 });
    expect(p.to).toEqual({ uid: 4321, gid: 0 });
    expect(p.notices).toEqual(["app's primary group is gid 0; it stays 0 and only the uid follows --remap 4321:4321 (a remap never changes group 0)"]);
    expect(r('app', '4321', { uid: 4321 }).notices).toEqual([]);
  });

  it('uid 0 or gid 0 is refused even if the argument parser were bypassed', () => {
    expect(() => r('ops', '0:4321', { uid: 0, gid: 4321 })).toThrow('--remap 0:4321: uid 0 is root; a remap never makes anyone root');
    expect(() => r('ops', '4321:0', { uid: 4321, gid: 0 })).toThrow('--remap 4321:0: gid 0 is group root');
    expect(() => r('ops', '0:0', { uid: 0, gid: 0 }, true)).toThrow(/uid 0 is root/);
  });

  it.each(['root', '0', 'root:root'])('root (%s) is refused, naming --remap and STEPDOWN_REMAP', (spec) => {
    expect(() => r(spec, '4321', { uid: 4321 })).toThrow("--remap 4321 would remap root, which is uid 0: a remap never changes root's ids; name a non-root user, or unset STEPDOWN_REMAP for this command");
  });

  it.each([
    ['1:42', { uid: 1, gid: 42 }, 'uid 1, which is the uid of daemon, which carries rights in the image'],
    ['4321:42', { uid: 4321, gid: 42 }, 'gid 42, which is group shadow, which carries rights in the image'],
    ['4321:1', { uid: 4321, gid: 1 }, 'gid 1, which is group daemon, which carries rights in the image'],
  ])('a system id (%s) is refused without the opt-in, naming --remap; accepted with it', (t, ids, what) => {
    expect(() => r('ops', t, ids)).toThrow(`--remap ${t} asks for ${what}: ops would get its rights; refusing. Give the ids of an ordinary host user, or pass --allow-system-ids (STEPDOWN_ALLOW_SYSTEM_IDS=1) to accept it`);
    expect(r('ops', t, ids, true).to).toEqual(ids);
  });

  it("a Mac's 501:20 is refused where gid 20 is dialout (as in Debian images); 501 alone keeps the gid", () => {
    const d = { passwd: sys.passwd, group: splitLines(SYS_GROUP + 'dialout:x:20:\n') };
    expect(() => planRemap(parseUserSpec('ops'), d, { uid: 501, gid: 20 }, { remap: '501:20' })).toThrow(
      '--remap 501:20 asks for gid 20, which is group dialout, which carries rights in the image: ops would get its rights; refusing.',
    );
    expect(planRemap(parseUserSpec('ops'), d, { uid: 501 }, { remap: '501' }).to).toEqual({ uid: 501, gid: 10001 });
  });

  it('an ordinary id that another account holds is shared, with a notice (usermod -o)', () => {
    expect(r('ops', '5000', { uid: 5000 }).notices).toEqual(['uid 5000 already belongs to root2; ops now shares it (like usermod -o)']);
  });

  it('an account named root at another uid counts as privileged', () => {
    const d = { passwd: splitLines(SYS_PASSWD + 'root:x:7000:7000::/:/bin/sh\n'), group: sys.group };
    expect(() => planRemap(parseUserSpec('ops'), d, { uid: 7000 }, { remap: '7000' })).toThrow('--remap 7000 asks for uid 7000, which is the uid of root, which carries rights in the image: ops would get its rights; refusing.');
  });

  it("nobody's 65534 is an ordinary id (not privileged, not below 1000): shared with a notice, nogroup joined", () => {
    const p = r('ops', '65534:65534', { uid: 65534, gid: 65534 });
    expect(p.to).toEqual({ uid: 65534, gid: 65534 });
    expect(p.notices).toEqual(['uid 65534 already belongs to nobody; ops now shares it (like usermod -o)', "gid 65534 already belongs to group nogroup; it becomes ops's primary group"]);
    expect(p.group).toBeUndefined();
  });

  it('an existing gid\'s group is joined, nothing renumbered', () => {
    const p = r('ops', '10001:2000', { uid: 10001, gid: 2000 });
    expect(p.notices).toEqual(["gid 2000 already belongs to group app; it becomes ops's primary group"]);
    expect(p.group).toBeUndefined();
    expect(p.groupStays).toBe(true);
  });

  it('a numeric or unknown user is refused, naming --remap', () => {
    expect(() => r('10001', '4321', { uid: 4321 })).toThrow("--remap needs the user by name, not uid 10001: the remap changes its uid, so the next start would not find it; write 'ops'");
    expect(() => r('ghost', '4321', { uid: 4321 })).toThrow("--remap needs a user with an entry in /etc/passwd, and 'ghost' has none; add the user in the image (useradd)");
  });

  it('user:group with a gid given is refused (the gid would go unused); with UID alone the uid is remapped', () => {
    expect(() => r('ops:app', '4321:4322', { uid: 4321, gid: 4322 })).toThrow("--remap 4321:4322 gives a gid, but 'ops:app' names the group to run with: give the uid alone (--remap 4321), or name the user alone so its primary group gets gid 4322");
    const p = r('ops:app', '4321', { uid: 4321 });
    expect(p.to).toEqual({ uid: 4321, gid: 10001 });
    expect(p.group).toBeUndefined();
  });
});
