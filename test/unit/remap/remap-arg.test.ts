// The argument of --remap / STEPDOWN_REMAP: UID:GID or UID, decimal, with the user-spec's
// strictness, never root's ids; every refusal one line naming where the value came from.
import { describe, expect, it } from 'vitest';
import { parseRemapIds } from '../../../src/remap/remap-arg.js';

const USE = "write UID:GID or UID in decimal, the host user's ids (e.g. 1000:1000 from id -u and id -g)";

function refusal(text: string, fromEnv = false): { message: string; exitCode: number } | undefined {
  try {
    parseRemapIds(text, fromEnv);
    return undefined;
  } catch (err) {
    const e = err as { message: string; exitCode: number };
    return { message: e.message, exitCode: e.exitCode };
  }
}

describe('parseRemapIds', () => {
  it.each([
    ['1000:1000', { text: '1000:1000', uid: 1000, gid: 1000 }],
    ['1000', { text: '1000', uid: 1000 }],
    ['1:42', { text: '1:42', uid: 1, gid: 42 }], // a system id is the planner's to judge (it knows the accounts)
    ['65534:65534', { text: '65534:65534', uid: 65534, gid: 65534 }],
    ['2147483647:2147483647', { text: '2147483647:2147483647', uid: 2147483647, gid: 2147483647 }],
  ])('%j', (text, ids) => {
    expect(parseRemapIds(text, false)).toEqual(ids);
  });

  it.each([
    ['0:0', 'uid 0 is root; a remap never makes anyone root: give the ids of the host user who owns the files'],
    ['0', 'uid 0 is root; a remap never makes anyone root: give the ids of the host user who owns the files'],
    ['0:1000', 'uid 0 is root; a remap never makes anyone root: give the ids of the host user who owns the files'],
    ['1000:0', "gid 0 is group root; a remap never gives anyone group 0: give the host user's own group, or UID alone to keep the user's gid"],
    ['1000:', "the gid after ':' is empty; write '1000' to keep the user's gid, or '1000:GID'"],
    [':1000', `the uid before ':' is empty; ${USE}`],
    [':', `the uid before ':' is empty; ${USE}`],
    ['1:2:3', `more than one ':'; ${USE}`],
    ['1000::1000', `more than one ':'; ${USE}`],
    ['+1000', `uid '+1000' is not a decimal id (no names, signs or blanks); ${USE}`],
    ['-1', `uid '-1' is not a decimal id (no names, signs or blanks); ${USE}`],
    ['1000:-1', `gid '-1' is not a decimal id (no names, signs or blanks); ${USE}`],
    [' 1000', `uid ' 1000' is not a decimal id (no names, signs or blanks); ${USE}`],
    ['1000 ', `uid '1000 ' is not a decimal id (no names, signs or blanks); ${USE}`],
    ['1000:1000\n', `gid '1000\\n' is not a decimal id (no names, signs or blanks); ${USE}`],
    ['app:app', `uid 'app' is not a decimal id (no names, signs or blanks); ${USE}`],
    ['1e3', `uid '1e3' is not a decimal id (no names, signs or blanks); ${USE}`],
    ['0x10', `uid '0x10' is not a decimal id (no names, signs or blanks); ${USE}`],
    ['١٠٠٠', `uid '١٠٠٠' is not a decimal id (no names, signs or blanks); ${USE}`],
    ['007', "uid '007' has a leading zero; write it as 7"],
    ['1000:01000', "gid '01000' has a leading zero; write it as 1000"],
    ['00', "uid '00' has a leading zero; write it as 0"],
    ['2147483648', `uid 2147483648 is out of range 1-2147483647; ${USE}`],
    ['4294967294:1000', `uid 4294967294 is out of range 1-2147483647; ${USE}`],
    ['1000:4294967295', `gid 4294967295 is out of range 1-2147483647; ${USE}`],
  ])('--remap %j is refused (125) in one line', (text, message) => {
    const shown = JSON.stringify(text).slice(1, -1);
    expect(refusal(text)).toEqual({ message: `--remap '${shown}': ${message}`, exitCode: 125 });
    expect(refusal(text, true)).toEqual({ message: `STEPDOWN_REMAP='${shown}': ${message}`, exitCode: 125 });
  });

  it('a huge value is cut in the message, which stays one short line', () => {
    const r = refusal('9'.repeat(100000));
    expect(r?.message).toBe(`--remap '${'9'.repeat(40)}…': uid ${'9'.repeat(20)}… is out of range 1-2147483647; ${USE}`);
  });
});
