import { describe, expect, it } from 'vitest';
import { joinLines, splitLines } from '../../src/etc-files.js';
import { changes, planRemap } from '../../src/remap.js';
import { resolveIdentity } from '../../src/identity.js';
import { parseUserSpec } from '../../src/user-spec.js';

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
const plan = (spec: string, uid: number, gid: number, d = db) => planRemap(parseUserSpec(spec), d, { uid, gid }, '/data');
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
