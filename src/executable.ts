// Reads the start of a file to predict what execve(2) will do with it. Node 24 aborts the
// whole process when execve fails, so everything the kernel would refuse must be caught here:
// a '#!' line naming a missing interpreter, an ELF whose loader (PT_INTERP) is missing, a
// file that is neither. Pure parsing over a read callback; fs lives in command.ts.

export type Format =
  | { kind: 'script'; interpreter: string }
  | { kind: 'elf'; interpreter: string | null }
  | { kind: 'unknown' };

/** read(offset, length) returns at most length bytes from offset (fewer at end of file). */
export type ReadAt = (offset: number, length: number) => Buffer;

export function detectFormat(read: ReadAt): Format {
  const head = read(0, 256);
  if (head.length >= 2 && head[0] === 0x23 && head[1] === 0x21) return parseShebang(head);
  if (head.length >= 4 && head.readUInt32BE(0) === 0x7f454c46) return { kind: 'elf', interpreter: elfInterpreter(read) };
  return { kind: 'unknown' };
}

function parseShebang(head: Buffer): Format {
  const end = head.indexOf(0x0a);
  const line = head.subarray(2, end === -1 ? head.length : end).toString('latin1');
  const interpreter = line.replace(/^[ \t]+/, '').split(/[ \t]/)[0] ?? '';
  return interpreter === '' ? { kind: 'unknown' } : { kind: 'script', interpreter };
}

const PT_INTERP = 3;

/** The PT_INTERP path of an ELF file, null for a static binary. Works for any architecture. */
export function elfInterpreter(read: ReadAt): string | null {
  const h = read(0, 64);
  const is64 = h[4] === 2;
  const le = h[5] !== 2;
  if (h.length < (is64 ? 64 : 52)) return null;
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const u64 = (b: Buffer, o: number) => Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
  const phoff = is64 ? u64(h, 0x20) : u32(h, 0x1c);
  const phentsize = u16(h, is64 ? 0x36 : 0x2a);
  const phnum = u16(h, is64 ? 0x38 : 0x2c);
  if (phentsize === 0 || phnum === 0 || phnum > 4096) return null;
  const table = read(phoff, phentsize * phnum);
  for (let i = 0; i + 1 <= phnum && (i + 1) * phentsize <= table.length; i++) {
    const ph = table.subarray(i * phentsize, (i + 1) * phentsize);
    if (u32(ph, 0) !== PT_INTERP) continue;
    const offset = is64 ? u64(ph, 0x08) : u32(ph, 0x04);
    const size = is64 ? u64(ph, 0x20) : u32(ph, 0x10);
    const raw = read(offset, Math.min(size, 4096));
    const nul = raw.indexOf(0);
    return raw.subarray(0, nul === -1 ? raw.length : nul).toString('latin1');
  }
  return null;
}
