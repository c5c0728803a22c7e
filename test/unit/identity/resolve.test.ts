import { describe, expect, it } from 'vitest';
import { fromBytes, splitLines } from '../../../src/system/etc-files.js';
import { resolveIdentity } from '../../../src/identity/resolve.js';
import { parseUserSpec } from '../../../src/identity/user-spec.js';
import { LAB_GROUP, LAB_PASSWD } from '../../helpers/lab.js';

const db = { passwd: splitLines(LAB_PASSWD), group: splitLines(LAB_GROUP) };
const resolve = (spec: string, d = db) => resolveIdentity(parseUserSpec(spec), d);
const triple = (spec: string) => {
  const id = resolve(spec);
  return `${id.uid}:${id.gid}:${id.groups.join(' ')} HOME=${id.home}`;
};

describe('resolveIdentity: gosu conformance rows, root caller', () => {
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

describe('resolution details that must match initgroups', () => {
  const r = (spec: string, passwd: string, group: string) => resolveIdentity(parseUserSpec(spec), { passwd: splitLines(passwd), group: splitLines(group) });
  const PW = 'ops:x:1500:1500::/home/ops:/bin/sh\n';

  it('member lists as glibc reads them: "app, ops " does not list ops; " ops" does; "ops\\r" does not', () => {
    expect(r('ops', PW, 'a:x:10:app, ops \nb:x:11: ops,x\nc:x:12:x,ops\r\n').groups).toEqual([1500, 11]);
  });

  it('(uid_t)-1 from the files is refused in one line, also for --check', () => {
    expect(() => r('big', 'big:x:4294967295:1::/:\n', '')).toThrow("/etc/passwd gives user 'big' uid 4294967295, which is (uid_t)-1 and not a usable id; fix the file");
    expect(() => r('big', 'big:x:5:4294967295::/:\n', '')).toThrow(/gives user 'big' gid 4294967295, which is \(gid_t\)-1/);
    expect(() => r('ops', PW, 'g:x:4294967295:ops\n')).toThrow(/group 'g' \(which lists ops\) gid 4294967295/);
  });

  it('any name the files hold: spaces and non-ASCII letters', () => {
    const utf8 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
    expect(r('Jörg Müller', utf8('Jörg Müller:x:1600:1600::/home/j:/bin/sh\n'), utf8('Grün:x:1600:\n'))).toMatchObject({ uid: 1600, userName: 'Jörg Müller', groupName: 'Grün', home: '/home/j' });
  });

  it('a user in 70,000 groups: every gid once, in file order', () => {
    const many = Array.from({ length: 70_000 }, (_, i) => `g${i}:x:${100_000 + i}:ops`).join('\n') + '\n';
    const id = r('ops', PW, many + 'dup:x:100000:ops\n');
    expect(id.groups.length).toBe(70_001);
    expect(id.groups[1]).toBe(100_000);
  });
});

describe('home bytes', () => {
  const bytesDb = (passwd: Buffer) => ({ passwd: fromBytes(passwd), group: splitLines('root:x:0:\napp:x:2000:\0,ops\n') });

  it('a NUL byte ends the line, as glibc parses it: the home is cut there (getent shows the same)', () => {
    const d = bytesDb(Buffer.from('ops:x:1500:1500::/home/a\0b:/bin/sh\n', 'latin1'));
    expect(resolve('ops', d)).toMatchObject({ uid: 1500, home: '/home/a' });
  });

  it('a member list after a NUL lists nobody (glibc stops there too)', () => {
    const d = bytesDb(Buffer.from('ops:x:1500:1500::/home/ops:/bin/sh\n', 'latin1'));
    expect(resolve('ops', d).groups).toEqual([1500]);
  });

  it('a UTF-8 home is passed as those bytes', () => {
    const d = bytesDb(Buffer.from('ops:x:1500:1500::/home/caf\u00e9:/bin/sh\n', 'utf8'));
    expect(Buffer.from(resolve('ops', d).home, 'utf8')).toEqual(Buffer.from('/home/caf\u00e9', 'utf8'));
  });

  it('a home that is not UTF-8 is refused (HOME could not carry its bytes), naming the user and the line', () => {
    const d = bytesDb(Buffer.from('ops:x:1500:1500::/home/caf\xe9:/bin/sh\n', 'latin1'));
    expect(() => resolve('ops', d)).toThrow(/^\/etc\/passwd line 1 gives user 'ops' the home \/home\/caf\\xe9, which is not UTF-8, so HOME cannot be passed exactly; /);
  });
});

describe("NIS compat lines ('+', '-'), which glibc's files backend skips in lookups", () => {
  const d = {
    passwd: splitLines('root:x:0:0:root:/root:/bin/sh\n+nis:x:1500:0:nis:/nis:/bin/sh\n -minus:x:1501:0::/:/bin/sh\nops:x:1500:1500::/home/ops:/bin/sh\n'),
    group: splitLines('root:x:0:\n+ngrp:x:1500:\n-mgrp:x:2001:ops\nops:x:1500:\n'),
  };

  it('a uid does not match a +/- line before the real entry', () => {
    expect(resolve('1500', d)).toMatchObject({ uid: 1500, gid: 1500, userName: 'ops', home: '/home/ops' });
  });

  it('a name starting with + or - matches nothing, as getpwnam says', () => {
    expect(() => resolve('+nis', d)).toThrow(/unknown user '\+nis'/);
    expect(() => resolve('-minus', d)).toThrow(/unknown user '-minus'/);
    expect(() => resolve('ops:+ngrp', d)).toThrow(/unknown group '\+ngrp'/);
  });

  it('the primary group is named by the real entry; a +/- line still lists members, as initgroups reads it', () => {
    expect(resolve('ops', d)).toMatchObject({ groups: [1500, 2001], groupName: 'ops' });
  });
});
