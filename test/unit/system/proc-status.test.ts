// /proc/<pid>/status as the drop's verification and the audit read it.
import { describe, expect, it } from 'vitest';
import { CAP_CHOWN, CAP_SETGID, CAP_SETUID, groupsOf, hasBit, idsOf, maskOf, parseProcStatus, readStatus } from '../../../src/system/proc-status.js';

const text = ['Name:\tsh', 'Uid:\t1000\t1000\t1000\t1000', 'Gid:\t100\t100\t100\t100', 'Groups:\t100 27 ', 'CapEff:\t00000000000000c1', 'SigIgn:\tzz', ''].join('\n');

describe('parseProcStatus', () => {
  const st = parseProcStatus(text);
  it('reads the four ids of Uid and Gid and the supplementary groups', () => {
    expect(idsOf(st, 'Uid')).toEqual([1000, 1000, 1000, 1000]);
    expect(idsOf(st, 'Gid')).toEqual([100, 100, 100, 100]);
    expect(groupsOf(st)).toEqual([100, 27]);
  });

  it('reads hex masks, and calls a line that is not hex absent rather than guessing', () => {
    const cap = maskOf(st, 'CapEff')!;
    expect([CAP_CHOWN, CAP_SETGID, CAP_SETUID].map((b) => hasBit(cap, b))).toEqual([true, true, true]);
    expect(hasBit(cap, 1)).toBe(false);
    expect(maskOf(st, 'SigIgn')).toBeUndefined();
  });

  it('leaves lines a kernel does not expose absent (gVisor omits some)', () => {
    expect(maskOf(st, 'CapAmb')).toBeUndefined();
    expect(groupsOf(parseProcStatus('Uid:\t0\t0\t0\t0\n'))).toBeUndefined();
  });
});

describe('readStatus', () => {
  it("is this process's own status", () => {
    expect(idsOf(readStatus(), 'Uid')?.[1]).toBe(process.geteuid!());
  });
});
