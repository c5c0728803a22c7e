// Reads and edits /etc/passwd and /etc/group as bytes, without NSS. The files are read into
// "byte strings" (latin1: one char per byte, so every byte round-trips exactly, whatever the
// encoding of a GECOS field or a name) and written back the same way; only the fields a remap
// changes are touched: comments, blank lines, odd lines, CRLF, a missing trailing newline and
// bytes that are not UTF-8 all survive. Names from argv are UTF-8 text: fromArgv turns one into
// the byte string the files hold, shown turns a file's bytes into text for a message.
//
// Lines are read the way glibc's files backend (what initgroups and getpwnam use) reads them:
// leading whitespace of a line is skipped, a line that is then empty or starts with '#' is
// ignored, and only '\n' ends a line, so a '\r' stays part of the last field.

export interface PasswdEntry {
  line: number; // index into EtcFile.lines
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface GroupEntry {
  line: number;
  name: string;
  gid: number;
  members: string[];
}

/** A file as its raw lines (byte strings); lines.join('\n') is the original content. */
export interface EtcFile {
  lines: string[];
}

export function splitLines(text: string): EtcFile {
  return { lines: text.split('\n') };
}

export function joinLines(file: EtcFile): string {
  return file.lines.join('\n');
}

/** The file's exact bytes as an EtcFile. */
export function fromBytes(bytes: Buffer): EtcFile {
  return splitLines(bytes.toString('latin1'));
}

/** The EtcFile's exact bytes. */
export function toBytes(file: EtcFile): Buffer {
  return Buffer.from(joinLines(file), 'latin1');
}

/** A name given on the command line (UTF-8 text) as the bytes the files would hold. */
export function fromArgv(name: string): string {
  return Buffer.from(name, 'utf8').toString('latin1');
}

/** A name or path from the files as text for a message or the environment. */
export function shown(bytes: string): string {
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

/** (uid_t)-1 / (gid_t)-1: "no change" to setresuid and chown, never a usable id. */
export const NO_ID = 0xffffffff;

// An id field is read the way glibc's files backend reads it (INT_FIELD: strtoul in base 10,
// then a range check), or the image's /etc would name accounts stepdown cannot see: a group
// line 'shadow:x: 42:' IS gid 42 to initgroups and getgrgid, so it must be gid 42 to the
// system-id checks too. strtoul skips leading C-locale whitespace, takes one optional '+' or
// '-' and any number of leading zeros; '-n' is 2^64 - n; a value past 2^64 saturates. glibc
// then refuses the line when the value does not fit in 32 bits, and when the digits are not
// followed directly by ':' or the end of the line (so a trailing space makes the line
// invisible). Checked against glibc 2.36 with getent on bind-mounted files.
const ID = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)$/;
const TWO_64 = 1n << 64n;
export function parseId(field: string | undefined): number | undefined {
  if (field === undefined) return undefined;
  // nearly every id in a real file: 1 to 9 plain digits, below 2^32 whatever they are
  if (field.length > 0 && field.length < 10 && allDigits(field)) return Number(field);
  const m = ID.exec(field);
  if (!m) return undefined;
  let v = BigInt(m[2]!);
  if (v >= TWO_64) return undefined; // ERANGE: ULONG_MAX, past 32 bits
  if (m[1] === '-') v = (TWO_64 - v) % TWO_64;
  return v <= 0xffffffffn ? Number(v) : undefined;
}

function allDigits(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** C isspace() in the C locale: ' ', '\t', '\n', '\v', '\f', '\r'; JavaScript's trim() would also eat byte 0xA0. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/** s without its leading C-locale whitespace. */
function skipSpace(s: string): string {
  let i = 0;
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return i === 0 ? s : s.slice(i);
}

/** The line as glibc parses it (leading whitespace skipped), or undefined for a line it ignores. */
function content(raw: string): string | undefined {
  // glibc's files backend parses each line as a C string: a NUL byte ends the line there
  // (measured with getent: 'ops:x:1500:1500::/home/a\0b:/bin/sh' has home /home/a, no shell)
  const nul = raw.indexOf('\0');
  if (nul !== -1) raw = raw.slice(0, nul);
  const t = skipSpace(raw);
  return t === '' || t.charCodeAt(0) === 35 /* '#' */ ? undefined : t;
}

/** Field i; one that ends the line without its '\r' (a CRLF file), for ids and the home. */
function field(fields: string[], i: number): string | undefined {
  const f = fields[i];
  return i === fields.length - 1 && f !== undefined && f.endsWith('\r') ? f.slice(0, -1) : f;
}

/** Lines that name an entry but cannot be used (bad ids, too few fields), by 1-based line number. */
export interface Malformed {
  line: number;
  name: string;
}

/** `holding`: parse only the lines holding these bytes; a lookup of one name skips every line that
 * cannot name it (an entry's name, malformed or not, is part of its line). */
export function parsePasswd(file: EtcFile, holding?: string): { entries: PasswdEntry[]; malformed: Malformed[] } {
  return parseEntries(file, holding, (f, line, name) => {
    const uid = parseId(field(f, 2));
    const gid = parseId(field(f, 3));
    return uid === undefined || gid === undefined ? undefined : { line, name, uid, gid, home: field(f, 5) ?? '' };
  });
}

export function parseGroup(file: EtcFile, holding?: string): { entries: GroupEntry[]; malformed: Malformed[] } {
  return parseEntries(file, holding, (f, line, name) => {
    const gid = parseId(field(f, 2));
    return gid === undefined ? undefined : { line, name, gid, members: parseMembers(f.length <= 4 ? (f[3] ?? '') : f.slice(3).join(':')) };
  });
}

/** Each entry line split on ':'; a line with no name, or that entry() cannot use, is malformed. */
function parseEntries<T>(file: EtcFile, holding: string | undefined, entry: (f: string[], line: number, name: string) => T | undefined): { entries: T[]; malformed: Malformed[] } {
  const entries: T[] = [];
  const malformed: Malformed[] = [];
  const lines = file.lines;
  for (let line = 0; line < lines.length; line++) {
    const raw = lines[line]!;
    if (holding !== undefined && !raw.includes(holding)) continue;
    const c = content(raw);
    if (c === undefined) continue;
    const f = c.split(':');
    const name = f[0] ?? '';
    const e = name === '' ? undefined : entry(f, line, name);
    if (e === undefined) malformed.push({ line: line + 1, name });
    else entries.push(e);
  }
  return { entries, malformed };
}

/** glibc's parse_list: split at ',', skip each member's leading whitespace, keep its trailing
 * bytes (so 'ops ' and 'ops\r' are not 'ops'), drop empty members. */
function parseMembers(field: string): string[] {
  const members: string[] = [];
  if (field === '') return members;
  for (const m of field.split(',')) {
    const t = skipSpace(m);
    if (t !== '') members.push(t);
  }
  return members;
}

/** For display: the first name given to each id (the third field: uid or gid) in a passwd or group
 * file; only to the ids in `only` when given. */
export function namesById(file: EtcFile, only?: ReadonlySet<number>): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of file.lines) {
    const [name, , idField] = line.split(':', 3);
    const id = parseId(idField);
    if (name && id !== undefined && (only === undefined || only.has(id)) && !names.has(id)) names.set(id, shown(name));
  }
  return names;
}

/** Replaces one ':'-separated field of one line; every other byte stays as it was. */
export function setField(file: EtcFile, line: number, field: number, value: string): EtcFile {
  const raw = file.lines[line];
  if (raw === undefined) throw new RangeError(`no line ${line}`);
  const fields = raw.split(':');
  if (field >= fields.length) throw new RangeError(`line ${line} has no field ${field}`);
  // the last field of a CRLF line keeps its '\r'
  const cr = field === fields.length - 1 && fields[field]!.endsWith('\r') ? '\r' : '';
  fields[field] = value + cr;
  const lines = file.lines.slice();
  lines[line] = fields.join(':');
  return { lines };
}

export const PASSWD_UID = 2;
export const PASSWD_GID = 3;
export const GROUP_GID = 2;
