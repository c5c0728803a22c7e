import { describe, expect, it } from 'vitest';
import { type Binfmt, binfmtMatches, claimedByBinfmtMisc, parseBinfmtEntry } from '../../../src/exec/binfmt.js';
import { QEMU_AARCH64 } from '../../helpers/binfmt-fixture.js';

/** The first 64 bytes of a 64-bit little-endian ELF executable for `machine`. */
function elfHead(machine: number): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2; // ELFCLASS64
  b[5] = 1; // little-endian
  b[6] = 1; // EV_CURRENT
  b.writeUInt16LE(2, 16); // ET_EXEC
  b.writeUInt16LE(machine, 18);
  return b;
}

const qemu = parseBinfmtEntry(QEMU_AARCH64)!;

describe('binfmt_misc entries', () => {
  it('parses a registration and matches it by masked magic', () => {
    expect(qemu).toMatchObject({ enabled: true, offset: 0 });
    expect(binfmtMatches(qemu, elfHead(183))).toBe(true);
    expect(binfmtMatches(qemu, elfHead(62))).toBe(false);
    expect(binfmtMatches({ ...qemu, enabled: false }, elfHead(183))).toBe(false);
    expect(parseBinfmtEntry('enabled\ninterpreter /usr/bin/java\nflags: \nextension .jar\n')).toEqual({ enabled: true, interpreter: '/usr/bin/java', offset: 0, extension: 'jar' });
    expect(qemu).toMatchObject({ interpreter: '/usr/libexec/qemu-binfmt/aarch64-binfmt-P', preopened: true });
  });

  it('an extension entry claims a file by the end of its name only', () => {
    const jar = parseBinfmtEntry('enabled\ninterpreter /usr/bin/java\nflags: \nextension .jar\n')!;
    expect(binfmtMatches(jar, Buffer.alloc(0), '/app/run.jar')).toBe(true);
    expect(binfmtMatches(jar, Buffer.alloc(0), '/app.jar/run')).toBe(false);
    expect(parseBinfmtEntry('enabled\ninterpreter /x\nflags: \n')).toBeUndefined();
  });
});

describe('claimedByBinfmtMisc', () => {
  it('reads the file only when an enabled entry could claim it', () => {
    let reads = 0;
    const head = () => (reads++, elfHead(183));
    for (const binfmt of ['unknown', { enabled: false, entries: [qemu] }, { enabled: true, entries: [{ ...qemu, enabled: false }] }] as Binfmt[]) {
      expect(claimedByBinfmtMisc(binfmt, head, '/foreign')).toBeUndefined();
    }
    expect(reads).toBe(0);
    expect(claimedByBinfmtMisc({ enabled: true, entries: [qemu] }, head, '/foreign')).toBe(qemu);
    expect(reads).toBe(1);
  });

  it('an unreadable file is claimed by no entry', () => {
    expect(claimedByBinfmtMisc({ enabled: true, entries: [qemu] }, () => 'unreadable', '/foreign')).toBeUndefined();
  });
});
