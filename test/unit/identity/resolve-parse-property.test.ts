// The start-up path reads /etc/passwd and /etc/group faster than it used to: ids of 1 to 9 plain
// digits skip the regex, leading whitespace, comments and '\r' are handled without regexes, a
// lookup by name parses only the lines holding the name's bytes, and --check names only the gids
// it prints. Being wrong here runs the command with the wrong uid, gid or groups, so every
// answer must be the one the full parse gave: resolveIdentity's identity or its exact error,
// formatIdentity's line, and the parsers' entries and malformed lines. The full parse is kept
// below as the reference and compared on seeded random files built from hostile pieces (names
// that are prefixes of each other or appear in other fields, duplicates, malformed lines around
// good ones, NIS '+'/'-' lines, comments, \v\f\r before a line, CRLF, NUL, Latin-1 bytes, ids
// with signs, spaces, leading zeros, 10+ digits, 2^32-1, 2^32, 2^64).
import { isUtf8 } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { formatIdentity } from '../../../src/identity/format.js';
import { type EtcDb, type Identity, resolveIdentity } from '../../../src/identity/resolve.js';
import { type UserSpec, parseUserSpec } from '../../../src/identity/user-spec.js';
import { StepdownError, fail, printable, showBytes } from '../../../src/system/errors.js';
import {
  type EtcFile, type GroupEntry, type Malformed, NO_ID, type PasswdEntry, fromArgv, namesById, parseGroup, parseId, parsePasswd, shown,
} from '../../../src/system/etc-files.js';
import { prng } from '../../helpers/prng.js';

// ---- the reference: the parse and resolution before the fast paths (regexes, every line parsed) ----

const ID = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)$/;
const TWO_64 = 1n << 64n;
function refParseId(field: string | undefined): number | undefined {
  const m = field === undefined ? null : ID.exec(field);
  if (!m) return undefined;
  let v = BigInt(m[2]!);
  if (v >= TWO_64) return undefined;
  if (m[1] === '-') v = (TWO_64 - v) % TWO_64;
  return v <= 0xffffffffn ? Number(v) : undefined;
}
const LEADING_SPACE = /^[ \t\n\v\f\r]*/;
function refContent(raw: string): string | undefined {
  const nul = raw.indexOf('\0');
  if (nul !== -1) raw = raw.slice(0, nul);
  const t = raw.replace(LEADING_SPACE, '');
  return t === '' || t.startsWith('#') ? undefined : t;
}
function refField(fields: string[], i: number): string | undefined {
  const f = fields[i];
  return i === fields.length - 1 && f !== undefined ? f.replace(/\r$/, '') : f;
}
function refParsePasswd(file: EtcFile): { entries: PasswdEntry[]; malformed: Malformed[] } {
  return refParseEntries(file, (f, line, name) => {
    const uid = refParseId(refField(f, 2));
    const gid = refParseId(refField(f, 3));
    return uid === undefined || gid === undefined ? undefined : { line, name, uid, gid, home: refField(f, 5) ?? '' };
  });
}
function refParseGroup(file: EtcFile): { entries: GroupEntry[]; malformed: Malformed[] } {
  return refParseEntries(file, (f, line, name) => {
    const gid = refParseId(refField(f, 2));
    return gid === undefined ? undefined : { line, name, gid, members: refParseMembers(f.slice(3).join(':')) };
  });
}
function refParseEntries<T>(file: EtcFile, entry: (f: string[], line: number, name: string) => T | undefined): { entries: T[]; malformed: Malformed[] } {
  const entries: T[] = [];
  const malformed: Malformed[] = [];
  file.lines.forEach((raw, line) => {
    const c = refContent(raw);
    if (c === undefined) return;
    const f = c.split(':');
    const name = f[0] ?? '';
    const e = name === '' ? undefined : entry(f, line, name);
    if (e === undefined) malformed.push({ line: line + 1, name });
    else entries.push(e);
  });
  return { entries, malformed };
}
function refParseMembers(field: string): string[] {
  return field
    .split(',')
    .map((m) => m.replace(LEADING_SPACE, ''))
    .filter((m) => m !== '');
}
function refNamesById(file: EtcFile): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of file.lines) {
    const [name, , idField] = line.split(':');
    const id = refParseId(idField);
    if (name && id !== undefined && !names.has(id)) names.set(id, shown(name));
  }
  return names;
}
function refFormatIdentity(id: Identity, db: EtcDb): string {
  const groupNames = refNamesById(db.group);
  const named = (n: number, name: string | undefined) => (name ? `${n}(${printable(name)})` : `${n}`);
  return (
    `uid=${named(id.uid, id.userName)} gid=${named(id.gid, groupNames.get(id.gid))} ` +
    `groups=${id.groups.map((g) => named(g, groupNames.get(g))).join(',')} home=${printable(id.home)}\n`
  );
}
function refResolveIdentity(spec: UserSpec, db: EtcDb): Identity {
  const passwd = refParsePasswd(db.passwd);
  const group = refParseGroup(db.group);
  const user = refFindUser(spec, passwd.entries, passwd.malformed);
  if (spec.group) {
    const g = refFindGroup(spec, spec.group, group.entries, group.malformed);
    const uid = user ? user.uid : (spec.user as { id: number }).id;
    refUsable(g.gid, 'gid', `group '${g.name ?? g.gid}'`, '/etc/group');
    return refWithNames({ uid, gid: g.gid, groups: [g.gid], home: refHomeOf(user) }, user, g.name);
  }
  if (!user) {
    const id = (spec.user as { id: number }).id;
    fail(`uid ${id} has no entry in /etc/passwd, so it has no group; ` + `name the group too (e.g. '${id}:${id}') or add the user to /etc/passwd`);
  }
  refUsable(user.gid, 'gid', `user '${shown(user.name)}'`, '/etc/passwd');
  const groups = [user.gid];
  const seen = new Set(groups);
  for (const g of group.entries) {
    if (seen.has(g.gid) || !g.members.includes(user.name)) continue;
    refUsable(g.gid, 'gid', `group '${shown(g.name)}' (which lists ${shown(user.name)})`, '/etc/group');
    seen.add(g.gid);
    groups.push(g.gid);
  }
  const primary = group.entries.find((g) => g.gid === user.gid && !refIsCompat(g.name));
  return refWithNames({ uid: user.uid, gid: user.gid, groups, home: refHomeOf(user) }, user, primary?.name);
}
function refUsable(id: number, what: 'uid' | 'gid', whose: string, file: string): void {
  if (id === NO_ID) fail(`${file} gives ${whose} ${what} ${NO_ID}, which is (${what === 'uid' ? 'uid_t' : 'gid_t'})-1 and not a usable id; fix the file`);
}
function refWithNames(id: Identity, user: PasswdEntry | undefined, groupName: string | undefined): Identity {
  if (user) id.userName = shown(user.name);
  if (groupName !== undefined) id.groupName = shown(groupName);
  return id;
}
function refHomeOf(user: PasswdEntry | undefined): string {
  if (!user || user.home === '') return '/';
  const bytes = Buffer.from(user.home, 'latin1');
  if (!isUtf8(bytes)) {
    fail(`/etc/passwd line ${user.line + 1} gives user '${shown(user.name)}' the home ${showBytes(bytes)}, which is not UTF-8, ` + `so HOME cannot be passed exactly; rename the directory and fix the file`);
  }
  return bytes.toString('utf8');
}
function refIsCompat(name: string): boolean {
  return name.startsWith('+') || name.startsWith('-');
}
function refUserNamed(argvName: string, passwd: { entries: PasswdEntry[]; malformed: Malformed[] }): PasswdEntry | undefined {
  const name = fromArgv(argvName);
  if (refIsCompat(name)) return undefined;
  const found = passwd.entries.find((e) => e.name === name);
  const bad = passwd.malformed.find((m) => m.name === name);
  if (bad && found && bad.line - 1 < found.line) fail(refMalformedUser(bad.line, argvName));
  return found;
}
function refMalformedUser(line: number, argvName: string): string {
  return `/etc/passwd line ${line} for user '${argvName}' is malformed (uid and gid must be numbers); fix the file`;
}
function refFindUser(spec: UserSpec, entries: PasswdEntry[], malformed: Malformed[]): PasswdEntry | undefined {
  const u = spec.user;
  if (u.kind === 'id') return entries.find((e) => e.uid === u.id && !refIsCompat(e.name));
  const found = refUserNamed(u.name, { entries, malformed });
  if (!found) {
    const bad = refIsCompat(fromArgv(u.name)) ? undefined : malformed.find((m) => m.name === fromArgv(u.name));
    if (bad) fail(refMalformedUser(bad.line, u.name));
    fail(`unknown user '${u.name}': no such name in /etc/passwd; use an existing user or a numeric 'uid:gid'`);
  }
  refUsable(found.uid, 'uid', `user '${u.name}'`, '/etc/passwd');
  return found;
}
function refFindGroup(spec: UserSpec, g: UserSpec['user'], entries: GroupEntry[], malformed: Malformed[]): { gid: number; name?: string } {
  if (g.kind === 'id') {
    const named = entries.find((e) => e.gid === g.id && !refIsCompat(e.name));
    return named ? { gid: g.id, name: named.name } : { gid: g.id };
  }
  const name = fromArgv(g.name);
  const bad = refIsCompat(name) ? undefined : malformed.find((m) => m.name === name);
  const found = refIsCompat(name) ? undefined : entries.find((e) => e.name === name);
  if (bad && (!found || bad.line - 1 < found.line)) {
    fail(`/etc/group line ${bad.line} for group '${g.name}' is malformed (gid must be a number); fix the file`);
  }
  if (!found) fail(`unknown group '${g.name}' in '${spec.text}': no such name in /etc/group; use an existing group or a numeric gid`);
  return { gid: found.gid, name: found.name };
}

// ---- hostile pieces ----

// as the files hold them (byte strings): prefixes and extensions of each other, UTF-8 and
// Latin-1 'café', NIS compat names, a space inside, trailing space and '\r', 0xA0 (not C space)
const FILE_NAMES = [
  'ops', 'ops', 'op', 'o', 'opsx', 'xops', 'pops', 'ops ', 'ops\r', '\xa0ops', 'caf\xc3\xa9', 'caf\xe9', 'caf',
  '+ops', '-ops', '+', '-', '+@ng', 'a b', 'root', 'app', 'ap', '', 'ops\0x', '#ops', '1000',
];
// as an operator types them (UTF-8 text)
const SPEC_NAMES = ['ops', 'op', 'o', 'opsx', 'xops', 'café', 'caf', '+ops', '-ops', '+', 'a b', 'root', 'app', 'ap', 'nobody', 'ops '];
const ID_VALUES = ['0', '42', '1000', '1500', '4294967295', '4294967294', '2147483647'];
const ID_FIELDS = [
  ...ID_VALUES, ...ID_VALUES, '00', '01000', '000000001000', '0000000042', '+1000', '-1', '-0', '+-1', '--1', ' 1000', '\t42', '\v42', '\f0', '\r1500',
  '\n1', '1000 ', '1000\r', ' ', '', 'x', '1e3', '0x10', '١', '123456789', '999999999', '1000000000', '1234567890', '4294967296', '-4294967295',
  '-4294967296', '-18446744073709550616', '18446744073709551615', '18446744073709551616', '18446744073709552616', '99999999999999999999999',
];
const LEADS = ['', '', '', '', ' ', '\t', '\v', '\f', '\r', ' \t\v\f\r', '#', '# ', ' #', '\0', '\xa0'];
const FILLERS = ['', 'x', '*', 'ops', '/home/ops', '/home/op', '/home/caf\xc3\xa9', '/home/caf\xe9', 'ops,op', 'Ops User', '/bin/sh', ':', '\0', '\r', '1000'];
const MEMBERS = ['ops', 'op', 'opsx', ' ops', '\tops', '\v\f\rops', 'ops ', 'ops\r', '\xa0ops', 'caf\xc3\xa9', 'caf\xe9', '+ops', 'a b', '', ' ', 'root', 'app', 'ops\0', '1000'];

type Rnd = (n: number) => number;
const pick = <T>(rnd: Rnd, xs: readonly T[]): T => xs[rnd(xs.length)]!;

function idField(rnd: Rnd): string {
  return rnd(4) === 0 ? pick(rnd, ID_FIELDS) : pick(rnd, ID_VALUES);
}

/** One line of up to `width` fields, maybe cut short or made longer, maybe with a NUL or '\r' inside. */
function shaped(rnd: Rnd, fields: string[]): string {
  if (rnd(8) === 0) fields = fields.slice(0, rnd(fields.length + 1));
  else if (rnd(10) === 0) fields = [...fields, pick(rnd, FILLERS)];
  let line = pick(rnd, LEADS) + fields.join(':');
  if (rnd(12) === 0) {
    const at = rnd(line.length + 1);
    line = line.slice(0, at) + pick(rnd, ['\0', '\r', ':', ',', ' ']) + line.slice(at);
  }
  if (rnd(5) === 0) line += '\r';
  return line;
}

function passwdLine(rnd: Rnd): string {
  if (rnd(25) === 0) return pick(rnd, ['', '+', '+::::::', '-ops', '+@ng:::::', '#', 'garbage', '\r', ' ', '\0ops:x:0:0::/:/bin/sh']);
  const home = rnd(3) === 0 ? pick(rnd, FILLERS) : `/home/${pick(rnd, FILE_NAMES)}`;
  return shaped(rnd, [pick(rnd, FILE_NAMES), pick(rnd, ['x', '', pick(rnd, FILE_NAMES)]), idField(rnd), idField(rnd), pick(rnd, FILLERS), home, pick(rnd, FILLERS)]);
}

function groupLine(rnd: Rnd): string {
  if (rnd(25) === 0) return pick(rnd, ['', '+', '+:::', '-ops', '+@ng:::ops', '#', 'garbage', '\r', ' ']);
  const members: string[] = [];
  for (let n = rnd(5); n > 0; n--) members.push(pick(rnd, MEMBERS));
  return shaped(rnd, [pick(rnd, FILE_NAMES), pick(rnd, ['x', '', 'ops']), idField(rnd), members.join(pick(rnd, [',', ',', ', ', ',,']))]);
}

function file(rnd: Rnd, line: (rnd: Rnd) => string): EtcFile {
  const lines: string[] = [];
  for (let n = rnd(12); n > 0; n--) lines.push(line(rnd));
  if (rnd(3) === 0) lines.push(''); // a trailing newline
  return { lines };
}

/** A user-spec; half of its names are the name of some line of the file (as text). */
function specText(rnd: Rnd, db: EtcDb): string {
  const fromFile = (f: EtcFile) => shown(pick(rnd, f.lines).replace(/^[ \t\v\f\r]*/, '').split(':')[0]!);
  const name = (f: EtcFile) => (rnd(2) === 0 && f.lines.length > 0 ? fromFile(f) : pick(rnd, SPEC_NAMES));
  const part = (f: EtcFile) => (rnd(3) === 0 ? pick(rnd, [...ID_VALUES, '1', '0']) : name(f));
  return rnd(2) === 0 ? part(db.passwd) : `${part(db.passwd)}:${part(db.group)}`;
}

type Outcome = { identity: Identity; check: string } | { error: string; exitCode: number };
function outcome(resolve: () => Identity, format: (id: Identity) => string): Outcome {
  try {
    const identity = resolve();
    return { identity, check: format(identity) };
  } catch (err) {
    if (!(err instanceof StepdownError)) throw err;
    return { error: err.message, exitCode: err.exitCode };
  }
}

const CASES = 20000;

describe('the fast /etc parse and lookup give what the full parse gave', () => {
  it('parseId: every hostile id field', () => {
    const rnd = prng(0x1d5);
    const pieces = ['0', '1', '9', '4', '2', ' ', '\t', '\v', '\f', '\r', '\n', '+', '-', 'x', '\xa0', '\0', '١'];
    const fields = [...ID_FIELDS];
    for (let i = 0; i < CASES; i++) {
      let f = '';
      for (let n = rnd(22); n > 0; n--) f += rnd(3) === 0 ? pick(rnd, pieces) : String(rnd(10));
      fields.push(f);
    }
    for (let digits = 1; digits <= 21; digits++) for (const d of '09') fields.push(d.repeat(digits), '1' + '0'.repeat(digits - 1));
    for (const f of [...fields, undefined]) expect([f, parseId(f)]).toEqual([f, refParseId(f)]);
  });

  it('parsePasswd and parseGroup: the same entries and malformed lines; with `holding`, the same for every line naming it', () => {
    const rnd = prng(0xe7c);
    for (let i = 0; i < CASES / 4; i++) {
      const passwd = file(rnd, passwdLine);
      const group = file(rnd, groupLine);
      expect(parsePasswd(passwd)).toEqual(refParsePasswd(passwd));
      expect(parseGroup(group)).toEqual(refParseGroup(group));
      const h = fromArgv(pick(rnd, SPEC_NAMES));
      const named = <T extends { name: string }>(p: { entries: T[]; malformed: Malformed[] }) => ({
        entries: p.entries.filter((e) => e.name === h),
        malformed: p.malformed.filter((m) => m.name === h),
      });
      expect(named(parsePasswd(passwd, h))).toEqual(named(refParsePasswd(passwd)));
      expect(named(parseGroup(group, h))).toEqual(named(refParseGroup(group)));
    }
  });

  it('namesById with `only`: the same name for every id asked for', () => {
    const rnd = prng(0x4a3);
    const ids = ID_VALUES.map(Number);
    for (let i = 0; i < CASES / 4; i++) {
      const group = file(rnd, groupLine);
      const only = new Set(ids.filter(() => rnd(2) === 0));
      const got = namesById(group, only);
      const want = refNamesById(group);
      for (const id of ids) expect([id, got.get(id)]).toEqual([id, only.has(id) ? want.get(id) : undefined]);
    }
  });

  it('resolveIdentity and formatIdentity: the same identity and --check line, or the same error', () => {
    const rnd = prng(0x5eed);
    const cases = 2 * CASES;
    const seen = new Map<string, number>();
    const count = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1);
    for (let i = 0; i < cases; i++) {
      const db: EtcDb = { passwd: file(rnd, passwdLine), group: file(rnd, groupLine) };
      const text = specText(rnd, db);
      let spec: UserSpec;
      try {
        spec = parseUserSpec(text);
      } catch {
        continue;
      }
      const got = outcome(() => resolveIdentity(spec, db), (id) => formatIdentity(id, db));
      const want = outcome(() => refResolveIdentity(spec, db), (id) => refFormatIdentity(id, db));
      if ('error' in want) count(want.error.replace(/^.*(malformed|unknown|no entry|not UTF-8|not a usable).*$/s, '$1'));
      else count(`resolved by ${spec.user.kind}${spec.group ? `:${spec.group.kind}` : ''}${want.identity.groups.length > 1 ? ' with groups' : ''}`);
      expect({ text, db, got }).toEqual({ text, db, got: want });
    }
    // every kind of answer was compared many times
    const kinds = [
      'resolved by name', 'resolved by name with groups', 'resolved by id', 'resolved by id with groups', 'resolved by name:name', 'resolved by name:id',
      'resolved by id:name', 'resolved by id:id', 'malformed', 'unknown', 'no entry', 'not UTF-8', 'not a usable',
    ];
    for (const kind of kinds) expect([kind, (seen.get(kind) ?? 0) > 50]).toEqual([kind, true]);
  });

  it('formatIdentity: the same --check line for any gids, named or not', () => {
    const rnd = prng(0xf0f);
    const ids = [...ID_VALUES.map(Number), 7];
    for (let i = 0; i < CASES / 4; i++) {
      const db: EtcDb = { passwd: file(rnd, passwdLine), group: file(rnd, groupLine) };
      const groups: number[] = [];
      for (let n = rnd(5); n > 0; n--) groups.push(pick(rnd, ids));
      const id: Identity = { uid: pick(rnd, ids), gid: pick(rnd, ids), groups, home: pick(rnd, ['/', '/home/ops', '/h\x1bx']) };
      if (rnd(2) === 0) id.userName = pick(rnd, SPEC_NAMES);
      expect(formatIdentity(id, db)).toBe(refFormatIdentity(id, db));
    }
  });
});
