import { describe, expect, it } from 'vitest';
import { NGROUPS_MAX, checkGroupCount, decideDrop, remapRights } from '../../../src/drop/decide.js';
import type { Identity } from '../../../src/identity/resolve.js';
import { parseProcStatus } from '../../../src/system/proc-status.js';

const status = (uid: string, gid: string, groups: string, capEff = '000001ffffffffff', capPrm = capEff) =>
  parseProcStatus(`Name:\tnode\nUid:\t${uid}\nGid:\t${gid}\nGroups:\t${groups}\nCapPrm:\t${capPrm}\nCapEff:\t${capEff}\n`);
const ops: Identity = { uid: 1500, gid: 1500, groups: [1500, 2000], home: '/home/ops' };

describe('decideDrop', () => {
  it('root with the capabilities drops', () => {
    expect(decideDrop(status('0\t0\t0\t0', '0\t0\t0\t0', '0 1 2'), ops)).toBe('drop');
  });

  it('already the target identity (Kubernetes runAsUser): passes straight through', () => {
    expect(decideDrop(status('1500\t1500\t1500\t1500', '1500\t1500\t1500\t1500', '1500 3000', '0'), ops)).toBe('already-target');
  });

  it.each([
    ['an effective capability', status('1500\t1500\t1500\t1500', '1500\t1500\t1500\t1500', '1500', '80', '0'), /capabilities \(CapEff 80\)/],
    ['a permitted capability', status('1500\t1500\t1500\t1500', '1500\t1500\t1500\t1500', '1500', '0', '80'), /capabilities \(CapPrm 80\)/],
    ['an ambient capability', parseProcStatus('Uid:\t1500\t1500\t1500\t1500\nGid:\t1500\t1500\t1500\t1500\nGroups:\t1500\nCapPrm:\t0\nCapEff:\t0\nCapAmb:\t1\n'), /CapAmb 1\)/],
    ['group 0 inherited', status('1500\t1500\t1500\t1500', '1500\t1500\t1500\t1500', '0 4', '0'), /root's group 0/],
    ['a filesystem uid of 0', status('1500\t1500\t1500\t0', '1500\t1500\t1500\t1500', '1500', '0'), /filesystem uid 0/],
  ])('already the target but with %s: refused', (_what, st, message) => {
    expect(() => decideDrop(st, ops)).toThrow(message);
  });

  it('already the target: group 0 is fine when it is the planned gid or a planned group', () => {
    const st = status('1500\t1500\t1500\t1500', '0\t0\t0\t0', '0 4', '0');
    expect(decideDrop(st, { ...ops, gid: 0, groups: [0] })).toBe('already-target');
    const st2 = status('1500\t1500\t1500\t1500', '1500\t1500\t1500\t1500', '0 1500', '0');
    expect(decideDrop(st2, { ...ops, groups: [1500, 0] })).toBe('already-target');
  });

  it('another non-root identity: refused, naming both identities', () => {
    expect(() => decideDrop(status('1000\t1000\t1000\t1000', '1000\t1000\t1000\t1000', '', '0'), ops)).toThrow(
      /running as uid 1000 gid 1000, not root, so cannot become uid 1500 gid 1500/,
    );
  });

  it('the right uid with the wrong gid is not the target', () => {
    expect(() => decideDrop(status('1500\t1500\t1500\t1500', '0\t0\t0\t0', '', '0'), ops)).toThrow(/running as uid 1500 gid 0/);
  });

  it('root without CAP_SETUID / CAP_SETGID: names the missing capabilities and the fix', () => {
    const noSetuid = (0x1ffffffffffn & ~(1n << 7n)).toString(16);
    expect(() => decideDrop(status('0\t0\t0\t0', '0\t0\t0\t0', '', noSetuid), ops)).toThrow(
      /without CAP_SETUID.*--cap-add SETUID.*capabilities.add: \[SETUID\]/,
    );
    expect(() => decideDrop(status('0\t0\t0\t0', '0\t0\t0\t0', '', '0'), ops)).toThrow(/without CAP_SETGID and CAP_SETUID/);
  });

  it('setuid execution (real != effective) is refused', () => {
    expect(() => decideDrop(status('1000\t0\t0\t0', '1000\t1000\t1000\t1000', ''), ops)).toThrow(/real and effective ids differ/);
  });
});

describe('more groups than the kernel allows', () => {
  const many = (n: number): Identity => ({ uid: 1500, gid: 1500, groups: Array.from({ length: n }, (_, i) => 1500 + i), home: '/' });

  it('is refused when the drop is decided, before any change, with the count, the limit and the fix', () => {
    expect(NGROUPS_MAX).toBe(65536);
    expect(() => decideDrop(status('0\t0\t0\t0', '0\t0\t0\t0', '0'), { ...many(65537), userName: 'ops' })).toThrow(
      /user 'ops' is in 65537 groups, more than the 65536 supplementary groups Linux allows \(NGROUPS_MAX\); remove the user from groups in \/etc\/group, or name one group \(ops:group\)/,
    );
    expect(() => checkGroupCount(many(65536), 'ops')).not.toThrow();
    expect(() => checkGroupCount(many(3), undefined, 2)).toThrow(/uid 1500 is in 3 groups/);
  });
});

describe('remapRights: root and CAP_CHOWN from the kernel\'s view, not from geteuid', () => {
  it('root is the effective uid in the status', () => {
    expect(remapRights(status('0\t0\t0\t0', '0\t0\t0\t0', '0'))).toEqual({ root: true, canChown: true });
    expect(remapRights(status('1500\t1500\t1500\t1500', '1500\t1500\t1500\t1500', '1500', '0'))).toEqual({ root: false, canChown: false });
  });

  it('CAP_CHOWN is bit 0 of CapEff; an unreadable CapEff counts as held', () => {
    expect(remapRights(status('0\t0\t0\t0', '0\t0\t0\t0', '0', '000001fffffffffe')).canChown).toBe(false);
    expect(remapRights(status('0\t0\t0\t0', '0\t0\t0\t0', '0', '1')).canChown).toBe(true);
    expect(remapRights(parseProcStatus('Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n')).canChown).toBe(true);
  });

  it('no Uid line: the same refusal as the drop', () => {
    expect(() => remapRights(parseProcStatus('Gid:\t0\t0\t0\t0\n'))).toThrow('cannot read Uid/Gid from /proc/self/status; is /proc mounted?');
  });
});
