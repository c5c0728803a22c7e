// The single-executable build (build/sea.mjs) is reproducible: two builds of the same
// dist/stepdown.cjs into two fresh directories give byte-identical binaries, and they equal
// what `npm run build:bin` put into dist/.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '../..');
const DIST = join(ROOT, 'dist');
const NAMES = ['stepdown-linux-arm64', 'stepdown-linux-x64'] as const;

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

function buildInto(out: string): void {
  const r = spawnSync(process.execPath, [join(ROOT, 'build', 'sea.mjs'), '--out', out], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  expect(r.status, `build/sea.mjs --out ${out} failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
}

describe('SEA build (build/sea.mjs)', () => {
  let tmp = '';
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'stepdown-sea-repro-'));
  });
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('dist/ holds both executables (mode 0755) and a SHA256SUMS that matches them', () => {
    for (const name of NAMES) {
      const file = join(DIST, name);
      expect(existsSync(file), `${file} is missing: run npm run build:bin`).toBe(true);
      expect(statSync(file).mode & 0o777, `${name} mode`).toBe(0o755);
    }
    const sums = join(DIST, 'SHA256SUMS');
    expect(existsSync(sums), `${sums} is missing: run npm run build:bin`).toBe(true);
    const expected = NAMES.map((n) => `${sha256(join(DIST, n))}  ${n}\n`).join('');
    expect(readFileSync(sums, 'utf8')).toBe(expected);
  });

  it(
    'two builds into two directories are byte-identical, and equal dist/',
    () => {
      const a = join(tmp, 'a');
      const b = join(tmp, 'b');
      buildInto(a);
      buildInto(b);
      for (const name of NAMES) {
        const bytesA = readFileSync(join(a, name));
        const bytesB = readFileSync(join(b, name));
        expect(bytesA.length, `${name} size`).toBeGreaterThan(50_000_000);
        expect(bytesA.equals(bytesB), `${name} differs between two builds`).toBe(true);
        expect(statSync(join(a, name)).mode & 0o777).toBe(0o755);
      }
      expect(readFileSync(join(a, 'SHA256SUMS'), 'utf8')).toBe(readFileSync(join(b, 'SHA256SUMS'), 'utf8'));
      // dist/ was built earlier (by `npm run build:bin`) from the same bundle.
      expect(
        readFileSync(join(a, 'SHA256SUMS'), 'utf8'),
        'dist/ binaries differ from a fresh build of dist/stepdown.cjs (stale? run npm run build:bin)',
      ).toBe(readFileSync(join(DIST, 'SHA256SUMS'), 'utf8'));
    },
    600_000,
  );
});
