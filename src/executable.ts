// Reads the start of a file to predict what execve(2) will do with it. Node 24 aborts the
// whole process when execve fails, so everything the kernel would refuse must be caught here:
// a '#!' line naming a missing interpreter, an ELF whose loader (PT_INTERP) is missing, a
// file that is neither. Pure parsing over a read callback; fs lives in command.ts.

export type Format =
  | { kind: 'script'; interpreter: string }
  | { kind: 'elf'; interpreter: string | null; machine: number; head: Buffer }
  | { kind: 'unknown' };

/** read(offset, length) returns at most length bytes from offset (fewer at end of file). */
export type ReadAt = (offset: number, length: number) => Buffer;

export function detectFormat(read: ReadAt): Format {
  const head = read(0, 256);
  if (head.length >= 2 && head[0] === 0x23 && head[1] === 0x21) return parseShebang(head);
  if (head.length >= 20 && head.readUInt32BE(0) === 0x7f454c46) {
    const machine = head[5] === 2 ? head.readUInt16BE(0x12) : head.readUInt16LE(0x12);
    return { kind: 'elf', interpreter: elfInterpreter(read), machine, head };
  }
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

// ELF e_machine values, and which ones each Node architecture's kernel runs natively
// (x86-64 kernels also run i386, arm64 kernels 32-bit arm).
const MACHINES: Record<number, string> = { 3: 'i386', 21: 'ppc64', 22: 's390x', 40: 'arm', 62: 'x86-64', 183: 'aarch64', 243: 'riscv', 258: 'loongarch' };
const NATIVE: Record<string, number[]> = { x64: [62, 3], arm64: [183, 40], ia32: [3], arm: [40], ppc64: [21], s390x: [22], riscv64: [243], loong64: [258] };

export function machineName(machine: number): string {
  return MACHINES[machine] ?? `machine ${machine}`;
}

/** The CPU this Node runs on, as machineName() spells it. */
export function hostMachineName(arch: string = process.arch): string {
  const machine = NATIVE[arch]?.[0];
  return machine === undefined ? arch : machineName(machine);
}

/** Whether this machine's kernel runs an ELF for `machine` without help (unknown arch: assume yes). */
export function runsNatively(machine: number, arch: string = process.arch): boolean {
  const native = NATIVE[arch];
  return native === undefined || native.includes(machine);
}

/** A binfmt_misc registration that recognises files by magic bytes (/proc/sys/fs/binfmt_misc/<name>). */
export interface BinfmtEntry {
  enabled: boolean;
  offset: number;
  magic: Buffer;
  mask?: Buffer;
}

export function parseBinfmtEntry(text: string): BinfmtEntry | undefined {
  const lines = text.split('\n');
  const value = (key: string) => lines.find((l) => l.startsWith(key + ' '))?.slice(key.length + 1).trim();
  const magic = value('magic');
  if (magic === undefined) return undefined; // an extension-based entry never matches an ELF by content
  const entry: BinfmtEntry = { enabled: lines[0]?.trim() === 'enabled', offset: Number(value('offset') ?? 0), magic: Buffer.from(magic, 'hex') };
  const mask = value('mask');
  if (mask !== undefined) entry.mask = Buffer.from(mask, 'hex');
  return entry;
}

export function binfmtMatches(entry: BinfmtEntry, head: Buffer): boolean {
  if (!entry.enabled || head.length < entry.offset + entry.magic.length) return false;
  for (let i = 0; i < entry.magic.length; i++) {
    const m = entry.mask ? (entry.mask[i] ?? 0xff) : 0xff;
    if (((head[entry.offset + i] ?? 0) & m) !== ((entry.magic[i] ?? 0) & m)) return false;
  }
  return true;
}
