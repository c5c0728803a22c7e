// binfmt_misc: reading the registered handlers from /proc/sys/fs/binfmt_misc, parsing an entry,
// and deciding which one claims a file, as the kernel's binfmt_misc does before its other
// handlers. lookup.ts asks here first and checks the claiming handler's interpreter.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type FilePath, pathFromBytes } from './preflight.js';

/** binfmt_misc as this process sees it: 'unknown' when not mounted (common in containers). */
export type Binfmt = 'unknown' | { enabled: boolean; entries: BinfmtEntry[] };

const BINFMT_DIR = '/proc/sys/fs/binfmt_misc';

/** binfmt_misc as this process sees it now. */
export function readBinfmt(): Binfmt {
  let status: string;
  try {
    status = fs.readFileSync(path.join(BINFMT_DIR, 'status'), 'utf8').trim();
  } catch {
    return 'unknown';
  }
  const entries: BinfmtEntry[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(BINFMT_DIR);
  } catch {
    return 'unknown';
  }
  for (const name of names) {
    if (name === 'status' || name === 'register') continue;
    try {
      const entry = parseBinfmtEntry(fs.readFileSync(path.join(BINFMT_DIR, name)));
      if (entry) entries.push(entry);
    } catch {
      // an entry removed while we read: ignore it
    }
  }
  return { enabled: status === 'enabled', entries };
}

/** A binfmt_misc registration (/proc/sys/fs/binfmt_misc/<name>): by magic bytes or by extension. */
export interface BinfmtEntry {
  enabled: boolean;
  /** the handler the kernel runs; with the F flag it was opened at registration */
  interpreter?: FilePath;
  preopened?: boolean;
  offset: number;
  magic?: Buffer;
  mask?: Buffer;
  extension?: string;
}

export function parseBinfmtEntry(content: string | Buffer): BinfmtEntry | undefined {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  const text = bytes.toString('latin1'); // one char per byte: the interpreter path keeps its bytes
  const lines = text.split('\n');
  const value = (key: string) => lines.find((l) => l.startsWith(key + ' '))?.slice(key.length + 1).trim();
  const enabled = lines[0]?.trim() === 'enabled';
  const interpreterLine = lines.find((l) => l.startsWith('interpreter '))?.slice('interpreter '.length);
  const handler: Pick<BinfmtEntry, 'interpreter' | 'preopened'> = {};
  if (interpreterLine !== undefined) handler.interpreter = pathFromBytes(Buffer.from(interpreterLine, 'latin1'));
  const flags = lines.find((l) => l.startsWith('flags:'))?.slice('flags:'.length).trim() ?? '';
  if (flags.includes('F')) handler.preopened = true;
  const extension = value('extension');
  if (extension !== undefined) return { enabled, ...handler, offset: 0, extension: extension.replace(/^\./, '') };
  const magic = value('magic');
  if (magic === undefined) return undefined;
  const entry: BinfmtEntry = { enabled, ...handler, offset: Number(value('offset') ?? 0), magic: Buffer.from(magic, 'hex') };
  const mask = value('mask');
  if (mask !== undefined) entry.mask = Buffer.from(mask, 'hex');
  return entry;
}

/** Whether a binfmt_misc entry claims this file (its first bytes, and its name for extensions). */
export function binfmtMatches(entry: BinfmtEntry, head: Buffer, file = ''): boolean {
  if (!entry.enabled) return false;
  if (entry.extension !== undefined) {
    const base = file.slice(file.lastIndexOf('/') + 1);
    const dot = base.lastIndexOf('.');
    return dot !== -1 && base.slice(dot + 1) === entry.extension;
  }
  const magic = entry.magic ?? Buffer.alloc(0);
  if (head.length < entry.offset + magic.length) return false;
  for (let i = 0; i < magic.length; i++) {
    const m = entry.mask ? (entry.mask[i] ?? 0xff) : 0xff;
    if (((head[entry.offset + i] ?? 0) & m) !== ((magic[i] ?? 0) & m)) return false;
  }
  return true;
}

/**
 * The enabled handler that claims the file (by its first bytes, read only when some entry is
 * enabled, or by its name), if any.
 */
export function claimedByBinfmtMisc(binfmt: Binfmt, readHead: () => Buffer | 'unreadable', name: string): BinfmtEntry | undefined {
  if (binfmt === 'unknown' || !binfmt.enabled || !binfmt.entries.some((e) => e.enabled)) return undefined;
  const head = readHead();
  return head === 'unreadable' ? undefined : binfmt.entries.find((e) => binfmtMatches(e, head, name));
}
