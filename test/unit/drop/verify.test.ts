import { describe, expect, it } from 'vitest';
import type { Identity } from '../../../src/identity/resolve.js';
import { verifyStatus } from '../../../src/drop/verify.js';
import { parseProcStatus } from '../../../src/system/proc-status.js';

const status = (uid: string, gid: string, groups: string, capEff = '000001ffffffffff', capPrm = capEff) =>
  parseProcStatus(`Name:\tnode\nUid:\t${uid}\nGid:\t${gid}\nGroups:\t${groups}\nCapPrm:\t${capPrm}\nCapEff:\t${capEff}\n`);
const ops: Identity = { uid: 1500, gid: 1500, groups: [1500, 2000], home: '/home/ops' };

describe('verifyStatus', () => {
  it('accepts exactly the planned identity, groups in any order', () => {
    expect(verifyStatus(status('1500\t1500\t1500\t1500', '1500\t1500\t1500\t1500', '2000 1500', '0'), ops)).toEqual([]);
  });

  it.each([
    ['a saved uid of 0', status('1500\t1500\t0\t1500', '1500\t1500\t1500\t1500', '1500 2000', '0'), /uids are \[1500 1500 0 1500\]/],
    ['a leaked group 0', status('1500\t1500\t1500\t1500', '1500\t1500\t1500\t1500', '0 1500 2000', '0'), /groups are \[0 1500 2000\], expected \[1500 2000\]/],
    ['a missing group', status('1500\t1500\t1500\t1500', '1500\t1500\t1500\t1500', '1500', '0'), /groups are/],
    ['an effective capability', status('1500\t1500\t1500\t1500', '1500\t1500\t1500\t1500', '1500 2000', '80', '0'), /CapEff is 80/],
    ['a permitted capability', status('1500\t1500\t1500\t1500', '1500\t1500\t1500\t1500', '1500 2000', '0', '1'), /CapPrm is 1/],
    ['a wrong gid', status('1500\t1500\t1500\t1500', '1500\t0\t1500\t1500', '1500 2000', '0'), /gids are/],
    ['a filesystem uid of 0', status('1500\t1500\t1500\t0', '1500\t1500\t1500\t1500', '1500 2000', '0'), /uids are \[1500 1500 1500 0\], expected 1500/],
    ['a filesystem gid of 0', status('1500\t1500\t1500\t1500', '1500\t1500\t1500\t0', '1500 2000', '0'), /gids are \[1500 1500 1500 0\], expected 1500/],
  ])('rejects %s', (_what, st, message) => {
    expect(verifyStatus(st, ops).join('; ')).toMatch(message);
  });

  it('tolerates lines gVisor omits (CapPrm, NoNewPrivs, SigIgn) but not a missing CapEff', () => {
    const gvisor = parseProcStatus('Uid:\t1500\t1500\t1500\t1500\nGid:\t1500\t1500\t1500\t1500\nGroups:\t1500 2000\nCapEff:\t0000000000000000\n');
    expect(verifyStatus(gvisor, ops)).toEqual([]);
    const noCaps = parseProcStatus('Uid:\t1500\t1500\t1500\t1500\nGid:\t1500\t1500\t1500\t1500\nGroups:\t1500 2000\n');
    expect(verifyStatus(noCaps, ops)).toEqual(['CapEff is not readable']);
  });

  it('compares the filesystem ids when the kernel shows them, and does not need them', () => {
    const threeFields = parseProcStatus('Uid:\t1500\t1500\t1500\nGid:\t1500\t1500\t1500\nGroups:\t1500 2000\nCapEff:\t0\n');
    expect(verifyStatus(threeFields, ops)).toEqual([]);
  });

  it('a root target keeps its capabilities', () => {
    const root: Identity = { uid: 0, gid: 0, groups: [0], home: '/root' };
    expect(verifyStatus(status('0\t0\t0\t0', '0\t0\t0\t0', '0'), root)).toEqual([]);
  });
});
