import { describe, expect, it } from 'vitest';
import { splitLines } from '../../src/etc-files.js';
import { resolveIdentity } from '../../src/identity.js';
import { parseUserSpec } from '../../src/user-spec.js';
import { LAB_GROUP, LAB_PASSWD } from '../fixtures/lab.js';

const db = { passwd: splitLines(LAB_PASSWD), group: splitLines(LAB_GROUP) };
const resolve = (spec: string, d = db) => resolveIdentity(parseUserSpec(spec), d);
const triple = (spec: string) => {
  const id = resolve(spec);
  return `${id.uid}:${id.gid}:${id.groups.join(' ')} HOME=${id.home}`;
};

describe('resolveIdentity: gosu conformance rows, root caller (anchors §8.1)', () => {
  it.each([
    ['0', '0:0:0 HOME=/root'], // rows 1, 18
    ['0:0', '0:0:0 HOME=/root'], // 2, 19
    ['root', '0:0:0 HOME=/root'], // 3, 20
    ['0:root', '0:0:0 HOME=/root'], // 4, 21
    ['root:0', '0:0:0 HOME=/root'], // 5, 22
    ['root:root', '0:0:0 HOME=/root'], // 6, 23
    ['0:1000', '0:1000:1000 HOME=/root'], // 8, 24
    ['1000:1000', '1000:1000:1000 HOME=/'], // 9
    ['root:1000', '0:1000:1000 HOME=/root'], // 10, 25
    ['1000:root', '1000:0:0 HOME=/'], // 11, 28
    ['1000:0', '1000:0:0 HOME=/'], // 27
    ['1000:daemon', '1000:1:1 HOME=/'], // 12
    ['games', '5:60:60 100 HOME=/usr/games'], // 13, 29 (primary + users)
    ['games:daemon', '5:1:1 HOME=/usr/games'], // 14, 30
  ])('%s → %s', (spec, expected) => {
    expect(triple(spec)).toBe(expected);
  });

  it('row 7 (deliberate difference): a uid with no passwd entry and no group is refused, never gid 0', () => {
    expect(() => resolve('1000')).toThrow(/uid 1000 has no entry in \/etc\/passwd.*'1000:1000'/);
  });

  it.each([
    ['bogus', /unknown user 'bogus'/], // row 31
    ['0day', /unknown user '0day'/], // 32: a name starting with a digit is a name
    ['0:bogus', /unknown group 'bogus'/], // 33
    ['0:0day', /unknown group '0day'/], // 34
  ])('%s is refused: %s', (spec, message) => {
    expect(() => resolve(spec)).toThrow(message);
  });
});

describe('resolveIdentity: our rules', () => {
  it('a name gets its primary gid plus every group listing it, in file order, no duplicates', () => {
    expect(resolve('ops')).toEqual({ uid: 1500, gid: 1500, groups: [1500, 2000, 2001], home: '/home/ops', userName: 'ops', groupName: 'ops' });
  });

  it('a uid found in passwd behaves exactly like its name', () => {
    expect(resolve('1500')).toEqual(resolve('ops'));
  });

  it('user:group gives that group only', () => {
    expect(resolve('ops:appgroup')).toMatchObject({ uid: 1500, gid: 2000, groups: [2000] });
    expect(resolve('ops:ops')).toMatchObject({ gid: 1500, groups: [1500] });
  });

  it('a numeric gid need not exist; a named one must', () => {
    expect(resolve('ops:4242')).toMatchObject({ gid: 4242, groups: [4242] });
    expect(() => resolve('ops:nogrp')).toThrow(/unknown group 'nogrp' in 'ops:nogrp'/);
  });

  it('an empty home field becomes HOME=/', () => {
    expect(resolve('nohome').home).toBe('/');
    expect(resolve('4242:4242').home).toBe('/');
  });

  it('the first passwd line with a name wins', () => {
    const d = { passwd: splitLines('dup:x:10:10::/a:\ndup:x:11:11::/b:\n'), group: splitLines('') };
    expect(resolve('dup', d)).toMatchObject({ uid: 10, home: '/a' });
  });

  it('a malformed line for the requested name is an error, never uid 0', () => {
    const d = { passwd: splitLines('evil:x::0::/:\n'), group: splitLines('') };
    expect(() => resolve('evil', d)).toThrow(/\/etc\/passwd line 1 for user 'evil' is malformed/);
  });

  it('missing /etc files behave as empty: ids still work, names do not', () => {
    const empty = { passwd: splitLines(''), group: splitLines('') };
    expect(resolve('5:5', empty)).toMatchObject({ uid: 5, gid: 5, groups: [5], home: '/' });
    expect(() => resolve('nobody', empty)).toThrow(/unknown user 'nobody'/);
  });
});
