// Reads the start of a file and decides what execve(2) will do with it, the way Linux's own
// handlers do (binfmt_script, binfmt_elf; binfmt_misc is binfmt.ts). Node 24 aborts the whole
// process when execve fails, so everything the kernel would refuse must be caught here. Pure
// parsing over a read callback; the filesystem lives in lookup.ts.
import { isUtf8 } from 'node:buffer';
import { showBytes } from '../system/errors.js';

/**
 * A path as the kernel has it in a file (a '#!' line, PT_INTERP, a binfmt_misc entry): a string
 * when its bytes are UTF-8 (Node encodes it back to the same bytes), else the raw bytes. Never a
 * latin1 decoding: that would name a different file.
 */
export type FilePath = string | Buffer;

export function pathFromBytes(bytes: Buffer): FilePath {
  return isUtf8(bytes) ? bytes.toString('utf8') : Buffer.from(bytes);
}

/** A path for a message: non-UTF-8 bytes as \\xNN (control characters are escaped when printed). */
export function showPath(p: FilePath): string {
  return typeof p === 'string' ? p : showBytes(p);
}

export type Format =
  /** binfmt_script accepts it: `#!interpreter [arg]` */
  | { kind: 'script'; interpreter: FilePath; arg: string | null }
  /** binfmt_elf accepts the header of a program for this machine; interpreter is PT_INTERP */
  | { kind: 'elf'; interpreter: FilePath | null; machine: number; elfClass: number; le: boolean; head: Buffer }
  /** an ELF for another CPU: only binfmt_misc (qemu-user) can run it */
  | { kind: 'foreign-elf'; machine: number; head: Buffer }
  /** the kernel's own handlers refuse it (ENOEXEC); reason says why, for the message */
  | { kind: 'unknown'; reason: string; head: Buffer };

/** read(offset, length) returns at most length bytes from offset (fewer at end of file). */
export type ReadAt = (offset: number, length: number) => Buffer;

/** The bytes the kernel reads before choosing a handler (BINPRM_BUF_SIZE). */
export const BINPRM_BUF_SIZE = 256;

const NO_FORMAT = "not an ELF binary and no '#!' line (a script needs one, e.g. '#!/bin/sh')";

export function detectFormat(read: ReadAt, arch: string = process.arch): Format {
  const head = read(0, BINPRM_BUF_SIZE);
  if (head.length >= 4 && head.readUInt32BE(0) === 0x7f454c46) return parseElf(read, head, arch);
  if (head.length >= 2 && head[0] === 0x23 && head[1] === 0x21) return parseShebang(head);
  return { kind: 'unknown', reason: NO_FORMAT, head };
}

const spacetab = (c: number | undefined) => c === 0x20 || c === 0x09;

/**
 * binfmt_script's reading of the first line: it sees only the first 256 bytes (zero-padded);
 * without a newline in them the interpreter's name must still end (space, tab or NUL) inside
 * them; leading blanks are skipped; the name runs to the first space, tab or NUL; the rest of
 * the line, trimmed, is one optional argument.
 */
function parseShebang(bytes: Buffer): Format {
  const buf = Buffer.alloc(BINPRM_BUF_SIZE);
  bytes.copy(buf);
  const bufEnd = BINPRM_BUF_SIZE - 1; // the kernel writes a NUL there
  const nextNonBlank = (from: number, last: number) => {
    for (let i = from; i <= last; i++) if (!spacetab(buf[i])) return i;
    return -1;
  };
  const nextTerminator = (from: number, last: number) => {
    for (let i = from; i <= last; i++) if (spacetab(buf[i]) || buf[i] === 0) return i;
    return -1;
  };
  const nul = buf.indexOf(0);
  let end = buf.subarray(0, nul === -1 ? BINPRM_BUF_SIZE : nul).indexOf(0x0a); // strnchr stops at NUL
  if (end === -1) {
    const start = nextNonBlank(2, bufEnd);
    if (start === -1 || nextTerminator(start, bufEnd) === -1) {
      return { kind: 'unknown', reason: `its '#!' line is longer than the ${BINPRM_BUF_SIZE - 1} bytes Linux reads, so the interpreter's name is cut off`, head: bytes };
    }
    end = bufEnd;
  }
  while (end > 2 && spacetab(buf[end - 1])) end--;
  const name = nextNonBlank(2, end);
  if (name === -1 || name === end) return { kind: 'unknown', reason: "its '#!' line names no interpreter", head: bytes };
  let sep = nextTerminator(name, end);
  if (sep === -1 || sep > end) sep = end;
  // a bare '#!' (no newline, NUL-padded) leaves an empty name: the kernel cannot open it either
  if (sep === name) return { kind: 'unknown', reason: "its '#!' line names no interpreter", head: bytes };
  const interpreter = pathFromBytes(buf.subarray(name, sep));
  let arg: string | null = null;
  if (sep < end && buf[sep] !== 0) {
    const at = nextNonBlank(sep, end);
    if (at !== -1 && at < end) {
      const rest = buf.subarray(at, end);
      const stop = rest.indexOf(0);
      arg = rest.subarray(0, stop === -1 ? rest.length : stop).toString('utf8');
    }
  }
  return { kind: 'script', interpreter, arg };
}

// this machine's byte order, as os.endianness() says it, without loading node:os on every start
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const ET_REL = 1;
const ET_EXEC = 2;
const ET_DYN = 3;
const ET_CORE = 4;
const PT_INTERP = 3;
const PATH_MAX = 4096;

interface ElfHeader {
  elfClass: number;
  le: boolean;
  type: number;
  machine: number;
  phoff: number;
  phentsize: number;
  phnum: number;
}

/**
 * The header as binfmt_elf reads it. The kernel picks the handler by e_machine alone and reads
 * the header in that handler's layout and the host's byte order: e_ident's class and byte-order
 * bytes are not checked (an x86-64 ELF marked 32-bit runs). `layout` gives that class and byte
 * order; without it (an unknown host) the file's own are used.
 */
function elfHeader(h: Buffer, layout?: { elfClass: number; le: boolean }): ElfHeader | undefined {
  const elfClass = layout?.elfClass ?? h[4] ?? 0;
  const le = layout?.le ?? h[5] !== 2;
  if ((elfClass !== 1 && elfClass !== 2) || h.length < (elfClass === 2 ? 64 : 52)) return undefined;
  const u16 = (o: number) => (le ? h.readUInt16LE(o) : h.readUInt16BE(o));
  const u32 = (o: number) => (le ? h.readUInt32LE(o) : h.readUInt32BE(o));
  const is64 = elfClass === 2;
  return {
    elfClass,
    le,
    type: u16(0x10),
    machine: u16(0x12),
    phoff: is64 ? Number(le ? h.readBigUInt64LE(0x20) : h.readBigUInt64BE(0x20)) : u32(0x1c),
    phentsize: u16(is64 ? 0x36 : 0x2a),
    phnum: u16(is64 ? 0x38 : 0x2c),
  };
}

/** Pure: the class and byte order the kernel of `arch` reads an ELF for `machine` in, if it runs it. */
function nativeLayout(h: Buffer, arch: string): { elfClass: number; le: boolean } | 'foreign' | undefined {
  const native = NATIVE[arch];
  if (native === undefined) return undefined;
  const le = arch !== 's390x' && (arch !== process.arch || LITTLE_ENDIAN);
  const machine = le ? h.readUInt16LE(0x12) : h.readUInt16BE(0x12);
  const hit = native.find(([m]) => m === machine);
  return hit ? { elfClass: hit[1], le } : 'foreign';
}

function elfTypeProblem(type: number): string | undefined {
  if (type === ET_EXEC || type === ET_DYN) return undefined;
  if (type === ET_REL) return 'an ELF relocatable object (what cc -c writes), not a program; link it into an executable';
  if (type === ET_CORE) return 'an ELF core dump, not a program';
  return `an ELF file of type ${type}, not a program`;
}

/** The program headers, as binfmt_elf's load_elf_phdrs reads them, or why it would refuse them. */
function programHeaders(read: ReadAt, e: ElfHeader): Buffer | string {
  const want = e.elfClass === 2 ? 56 : 32;
  if (e.phentsize !== want) return `a damaged ELF header (program header size ${e.phentsize}, expected ${want})`;
  const size = e.phentsize * e.phnum;
  if (size === 0 || size > 65536) return `a damaged ELF header (${e.phnum} program headers)`;
  const table = readWithin(read, e.phoff, size);
  if (table.length < size) return 'a truncated ELF file: it ends before its program headers do (EIO)';
  return table;
}

/**
 * read() at an offset taken from the file: an offset past what a file position can hold (a
 * 64-bit field, so beyond Number.MAX_SAFE_INTEGER too) reads nothing, as the kernel's short read
 * does, instead of a position Node refuses.
 */
function readWithin(read: ReadAt, offset: number, length: number): Buffer {
  return Number.isSafeInteger(offset) && offset >= 0 ? read(offset, length) : Buffer.alloc(0);
}

/** Pure: binfmt_elf's decision on an ELF header for this machine, up to opening the interpreter. */
function parseElf(read: ReadAt, head: Buffer, arch: string): Format {
  const h = read(0, 64);
  if (h.length < 52) return { kind: 'unknown', reason: 'a truncated ELF file: it ends inside its header', head };
  const layout = nativeLayout(h, arch);
  if (layout === 'foreign') {
    const machine = h.length >= 0x14 ? (h[5] === 2 ? h.readUInt16BE(0x12) : h.readUInt16LE(0x12)) : 0;
    return { kind: 'foreign-elf', machine, head };
  }
  const e = elfHeader(h, layout);
  if (!e) return { kind: 'unknown', reason: 'a truncated or damaged ELF header', head };
  const typeProblem = elfTypeProblem(e.type);
  if (typeProblem) return { kind: 'unknown', reason: typeProblem, head };
  const table = programHeaders(read, e);
  if (typeof table === 'string') return { kind: 'unknown', reason: table, head };
  const u32 = (b: Buffer, o: number) => (e.le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const u64 = (b: Buffer, o: number) => Number(e.le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
  const is64 = e.elfClass === 2;
  for (let i = 0; i < e.phnum; i++) {
    const ph = table.subarray(i * e.phentsize, (i + 1) * e.phentsize);
    if (u32(ph, 0) !== PT_INTERP) continue;
    const offset = is64 ? u64(ph, 0x08) : u32(ph, 0x04);
    const size = is64 ? u64(ph, 0x20) : u32(ph, 0x10);
    if (size < 2 || size > PATH_MAX) return { kind: 'unknown', reason: `a damaged ELF file (its interpreter path is ${size} bytes)`, head };
    const raw = readWithin(read, offset, size);
    if (raw.length < size) return { kind: 'unknown', reason: 'a truncated ELF file: it ends before its interpreter path does (EIO)', head };
    if (raw[size - 1] !== 0) return { kind: 'unknown', reason: 'a damaged ELF file (its interpreter path is not NUL-terminated)', head };
    const nul = raw.indexOf(0);
    return { kind: 'elf', interpreter: pathFromBytes(raw.subarray(0, nul)), machine: e.machine, elfClass: e.elfClass, le: e.le, head };
  }
  return { kind: 'elf', interpreter: null, machine: e.machine, elfClass: e.elfClass, le: e.le, head };
}

/**
 * Pure: why the kernel would refuse `read` as the ELF interpreter (dynamic loader) of a program
 * of this class and machine, or undefined. binfmt_elf checks the loader's magic and machine
 * before the point of no return, its type and program headers after it (where a failure kills
 * the new process instead of failing execve): both are refused here.
 */
export function loaderProblem(read: ReadAt, elfClass: number, machine: number, le = true): string | undefined {
  const h = read(0, 64);
  if (h.length < 4 || h.readUInt32BE(0) !== 0x7f454c46) return 'is not an ELF file';
  const e = elfHeader(h, { elfClass, le });
  if (!e) return 'has a truncated or damaged ELF header';
  if (e.machine !== machine) return `is an ELF for ${machineName(e.machine)}, the program is for ${machineName(machine)}`;
  const typeProblem = elfTypeProblem(e.type);
  if (typeProblem) return `is ${typeProblem}`;
  const table = programHeaders(read, e);
  return typeof table === 'string' ? `is ${table}` : undefined;
}

/** The PT_INTERP path of an ELF file, null for a static binary or a file binfmt_elf refuses. */
export function elfInterpreter(read: ReadAt, arch: string = process.arch): FilePath | null {
  const f = detectFormat(read, arch);
  return f.kind === 'elf' ? f.interpreter : null;
}

// ELF e_machine values, and which (machine, class) pairs each Node architecture's kernel runs
// natively (x86-64 kernels also run 32-bit i386 through IA32 emulation, arm64 kernels 32-bit arm).
const MACHINES: Record<number, string> = { 3: 'i386', 21: 'ppc64', 22: 's390x', 40: 'arm', 62: 'x86-64', 183: 'aarch64', 243: 'riscv', 258: 'loongarch' };
const NATIVE: Record<string, [number, number][]> = {
  x64: [[62, 2], [3, 1]],
  arm64: [[183, 2], [40, 1]],
  ia32: [[3, 1]],
  arm: [[40, 1]],
  ppc64: [[21, 2]],
  s390x: [[22, 2]],
  riscv64: [[243, 2]],
  loong64: [[258, 2]],
};

export function machineName(machine: number): string {
  return MACHINES[machine] ?? `machine ${machine}`;
}

/** The CPU this Node runs on, as machineName() spells it. */
export function hostMachineName(arch: string = process.arch): string {
  const machine = NATIVE[arch]?.[0]?.[0];
  return machine === undefined ? arch : machineName(machine);
}

/** Whether this machine's kernel runs an ELF for `machine` without help (unknown arch: assume yes). */
export function runsNatively(machine: number, arch: string = process.arch): boolean {
  const native = NATIVE[arch];
  return native === undefined || native.some(([m]) => m === machine);
}
