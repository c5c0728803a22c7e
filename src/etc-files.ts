// Reads and edits /etc/passwd and /etc/group text without NSS. Every byte that is not
// deliberately changed survives a parse → edit → serialise round trip: comments, blank lines,
// odd lines, CRLF, a missing trailing newline.

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

/** A file as its raw lines; lines.join('\n') is the original text. */
export interface EtcFile {
  lines: string[];
}

export function splitLines(text: string): EtcFile {
  return { lines: text.split('\n') };
}

export function joinLines(file: EtcFile): string {
  return file.lines.join('\n');
}

const ID = /^[0-9]{1,10}$/;
function parseId(field: string | undefined): number | undefined {
  if (field === undefined || !ID.test(field)) return undefined;
  const n = Number(field);
  return n <= 0xffffffff ? n : undefined;
}

function isSkipped(line: string): boolean {
  const t = line.trim();
  return t === '' || t.startsWith('#');
}

/** Lines that name an entry but cannot be used (bad ids, too few fields), by 1-based line number. */
export interface Malformed {
  line: number;
  name: string;
}

export function parsePasswd(file: EtcFile): { entries: PasswdEntry[]; malformed: Malformed[] } {
  const entries: PasswdEntry[] = [];
  const malformed: Malformed[] = [];
  file.lines.forEach((raw, line) => {
    if (isSkipped(raw)) return;
    const f = raw.replace(/\r$/, '').split(':');
    const uid = parseId(f[2]);
    const gid = parseId(f[3]);
    const name = f[0] ?? '';
    if (name === '' || uid === undefined || gid === undefined) {
      malformed.push({ line: line + 1, name });
      return;
    }
    entries.push({ line, name, uid, gid, home: f[5] ?? '' });
  });
  return { entries, malformed };
}

export function parseGroup(file: EtcFile): { entries: GroupEntry[]; malformed: Malformed[] } {
  const entries: GroupEntry[] = [];
  const malformed: Malformed[] = [];
  file.lines.forEach((raw, line) => {
    if (isSkipped(raw)) return;
    const f = raw.replace(/\r$/, '').split(':');
    const gid = parseId(f[2]);
    const name = f[0] ?? '';
    if (name === '' || gid === undefined) {
      malformed.push({ line: line + 1, name });
      return;
    }
    const members = (f[3] ?? '').split(',').map((m) => m.trim()).filter((m) => m !== '');
    entries.push({ line, name, gid, members });
  });
  return { entries, malformed };
}

/** For display: the first name given to each id (the third field: uid or gid) in a passwd or group file. */
export function namesById(file: EtcFile): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of file.lines) {
    const [name, , id] = line.split(':');
    if (name && id && /^[0-9]+$/.test(id) && !names.has(Number(id))) names.set(Number(id), name);
  }
  return names;
}

/** Replaces one ':'-separated field of one line; every other byte stays as it was. */
export function setField(file: EtcFile, line: number, field: number, value: string): EtcFile {
  const raw = file.lines[line];
  if (raw === undefined) throw new RangeError(`no line ${line}`);
  const cr = raw.endsWith('\r') ? '\r' : '';
  const fields = (cr ? raw.slice(0, -1) : raw).split(':');
  if (field >= fields.length) throw new RangeError(`line ${line} has no field ${field}`);
  fields[field] = value;
  const lines = file.lines.slice();
  lines[line] = fields.join(':') + cr;
  return { lines };
}

export const PASSWD_UID = 2;
export const PASSWD_GID = 3;
export const GROUP_GID = 2;
