import { describe, expect, it } from 'vitest';
import { GROUP_GID, PASSWD_UID, fromBytes, parseId, joinLines, namesById, parseGroup, parsePasswd, setField, splitLines, toBytes } from '../../../src/system/etc-files.js';

const PASSWD = [
  '# a comment line',
  'root:x:0:0:root:/root:/bin/bash',
  '',
  'ops:x:1500:1500:Ops,,,:/home/ops:/bin/sh',
  'short:x:1600:1600',
  'badid:x:abc:1:b:/b:/bin/sh',
  'neg:x:-1:1:n:/n:/bin/sh',
  '  ',
  'crlf:x:1700:1700::/home/crlf:/bin/sh\r',
  'last:x:1800:1800::/home/last:/bin/sh',
].join('\n'); // no trailing newline on purpose

describe('passwd parsing', () => {
  const { entries, malformed } = parsePasswd(splitLines(PASSWD));

  it('skips comments and blank lines, keeps line indexes', () => {
    expect(entries.map((e) => [e.name, e.uid, e.gid, e.home, e.line])).toEqual([
      ['root', 0, 0, '/root', 1],
      ['ops', 1500, 1500, '/home/ops', 3],
      ['short', 1600, 1600, '', 4],
      ['crlf', 1700, 1700, '/home/crlf', 8],
      ['last', 1800, 1800, '/home/last', 9],
    ]);
  });

  it('reports lines with non-numeric ids as malformed instead of reading them as 0', () => {
    expect(malformed).toEqual([
      { line: 6, name: 'badid' },
      { line: 7, name: 'neg' },
    ]);
  });

  it('round-trips every byte, including a missing trailing newline', () => {
    expect(joinLines(splitLines(PASSWD))).toBe(PASSWD);
    expect(joinLines(splitLines(PASSWD + '\n'))).toBe(PASSWD + '\n');
  });

  it('edits one field and leaves every other byte alone (CRLF kept)', () => {
    const file = splitLines(PASSWD);
    const edited = joinLines(setField(setField(file, 3, PASSWD_UID, '4321'), 8, PASSWD_UID, '9'));
    expect(edited).toBe(
      PASSWD.replace('ops:x:1500:', 'ops:x:4321:').replace('crlf:x:1700:', 'crlf:x:9:'),
    );
    expect(edited.includes('/home/crlf:/bin/sh\r\n')).toBe(true);
  });
});

describe('group parsing', () => {
  const GROUP = 'root:x:0:\nadm:x:4:syslog, ops\n#x:x:9:\nusers:x:100\nbroken:x:zz:ops\nwin:x:7:a,b\r\n';
  const { entries, malformed } = parseGroup(splitLines(GROUP));

  it('parses member lists as initgroups does: leading spaces skipped, trailing bytes and CR kept', () => {
    expect(entries.map((e) => [e.name, e.gid, e.members])).toEqual([
      ['root', 0, []],
      ['adm', 4, ['syslog', 'ops']],
      ['users', 100, []],
      ['win', 7, ['a', 'b\r']],
    ]);
    const odd = parseGroup(splitLines('g:x:5:app, ops ,,\tx\n  lead:x:6:\r\n')).entries;
    expect(odd.map((e) => [e.name, e.gid, e.members])).toEqual([
      ['g', 5, ['app', 'ops ', 'x']],
      ['lead', 6, []],
    ]);
    expect(malformed).toEqual([{ line: 5, name: 'broken' }]);
  });

  it('edits the gid field only', () => {
    const out = joinLines(setField(splitLines(GROUP), 1, GROUP_GID, '44'));
    expect(out).toBe(GROUP.replace('adm:x:4:', 'adm:x:44:'));
  });
});

describe('bytes', () => {
  it('a field edit keeps bytes that are not UTF-8 (latin-1 GECOS, a latin-1 group name) exactly', () => {
    const raw = Buffer.concat([Buffer.from('jose:x:1500:1500:Jos'), Buffer.from([0xe9]), Buffer.from(':/home/jose:/bin/sh\ncaf'), Buffer.from([0xe9]), Buffer.from(':x:1501:1500:\n')]);
    const file = fromBytes(raw);
    const out = toBytes(setField(file, 0, PASSWD_UID, '4321'));
    expect(out.equals(Buffer.from(raw.toString('latin1').replace('jose:x:1500:', 'jose:x:4321:'), 'latin1'))).toBe(true);
    expect(out.includes(Buffer.from([0xef, 0xbf, 0xbd]))).toBe(false); // no U+FFFD
  });
});

describe('edits at the edges of a line', () => {
  it('a CRLF line whose last field is edited keeps its \r; a line with leading spaces keeps them', () => {
    const file = splitLines('ops:x:10001:10001\r\n  dev:x:5:5::/h:/bin/sh\n');
    expect(parsePasswd(file).entries.map((e) => [e.name, e.gid])).toEqual([['ops', 10001], ['dev', 5]]);
    const out = joinLines(setField(setField(file, 0, 3, '4321'), 1, PASSWD_UID, '6'));
    expect(out).toBe('ops:x:10001:4321\r\n  dev:x:6:5::/h:/bin/sh\n');
  });
});

describe('id fields as glibc reads them (strtoul, then a 32-bit range check)', () => {
  it.each([
    ['42', 42], [' 42', 42], ['\t\v\f\r 42', 42], ['+42', 42], ['00000000042', 42], ['-0', 0], ['4294967295', 0xffffffff],
    ['-18446744073709551615', 1], // strtoul: -n is 2^64 - n
    ['0', 0], ['007', 7], ['999999999', 999999999], ['1000000000', 1000000000], ['000000042', 42], // plain digits on either side of 9 of them
  ])('%j is %i', (field, id) => expect(parseId(field)).toBe(id));
  it.each([['42 '], [''], [' '], ['+'], ['+-4'], ['0x10'], ['-1'], ['-4294967295'], ['4294967296'], ['18446744073709551617'], ['4 2']])(
    '%j is no id (glibc skips the line)',
    (field) => expect(parseId(field)).toBeUndefined(),
  );
  it('a group line with a spaced gid is that gid', () => {
    expect(parseGroup(splitLines('shadow:x: 42:\n')).entries.map((e) => [e.name, e.gid])).toEqual([['shadow', 42]]);
  });
});

describe('parsing only the lines that hold a name (a lookup of one user or group)', () => {
  it('finds the same entries and malformed lines for that name, at the same line numbers, and no others', () => {
    const file = splitLines('badid:x:abc:1:b:/b:/bin/sh\nroot:x:0:0::/root:/bin/sh\n  badid:x:7:7::/home/badid:/bin/sh\nsub:x:9:9::/home/badid:/bin/sh\n');
    const all = parsePasswd(file);
    const some = parsePasswd(file, 'badid');
    expect(some.malformed).toEqual(all.malformed);
    expect(some.entries).toEqual(all.entries.filter((e) => e.line !== 1));
    expect(some.entries.map((e) => [e.line, e.name])).toEqual([[2, 'badid'], [3, 'sub']]); // 'sub' holds the bytes in its home
    expect(parseGroup(splitLines('a:x:1:\nb:x:2:a\nc:x:3:\n'), 'a').entries.map((e) => e.name)).toEqual(['a', 'b']);
  });

  it('namesById names only the ids asked for, each by its first line', () => {
    const file = splitLines('a:x:1:\nb:x:2:\nb2:x:2:\nc:x:3:\n');
    expect([...namesById(file, new Set([2, 3, 9]))]).toEqual([[2, 'b'], [3, 'c']]);
    expect([...namesById(file)]).toEqual([[1, 'a'], [2, 'b'], [3, 'c']]);
  });
});
