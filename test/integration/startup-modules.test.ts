// Start-up cost: node:tty and node:child_process (with the net and stream modules behind them)
// add ~10 ms to every start, and stepdown needs them only for a progress line or the audit
// table. The bundle must not load them on the paths every container start takes. node:os
// (~1 % of a start) is loaded only when a signal other than Node's own is ignored.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IS_ROOT, NODE24, REPO } from '../helpers/harness.js';

const HOOK = `
const fs = require('node:fs');
const report = () => fs.writeSync(2, '\\nMODULES ' + process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)).join(',') + '\\n');
const execve = process.execve;
process.execve = (...args) => { report(); return execve.apply(process, args); };
process.on('exit', report);
`;

// every file the bundle reads whole, one `READ <path>` line each on stderr
const READS_HOOK = `
const fs = require('node:fs');
const readFileSync = fs.readFileSync;
fs.readFileSync = function (file, ...rest) { if (typeof file === 'string') fs.writeSync(2, 'READ ' + file + '\\n'); return readFileSync.call(this, file, ...rest); };
`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stepdown-hook-'));
const hook = path.join(dir, 'hook.cjs');
fs.writeFileSync(hook, HOOK);
const readsHook = path.join(dir, 'reads.cjs');
fs.writeFileSync(readsHook, READS_HOOK);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function loaded(args: string[]): string[] {
  const r = spawnSync(NODE24, ['-r', hook, path.join(REPO, 'dist/stepdown.cjs'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const line = /\nMODULES (.*)\n/.exec(r.stderr);
  expect(line, r.stderr).not.toBeNull();
  return line![1]!.split(',');
}

describe('modules loaded at start-up (dist/stepdown.cjs)', () => {
  it('--version and --check load neither node:tty nor node:child_process', () => {
    for (const args of [['--version'], ['--check', 'nobody']]) {
      const mods = loaded(args);
      expect(mods).toContain('fs'); // the hook saw the list
      expect(mods).not.toContain('tty');
      expect(mods).not.toContain('child_process');
    }
  });

  it.runIf(IS_ROOT)('a drop and exec loads neither, nor node:os', () => {
    const mods = loaded(['nobody', '--', '/bin/true']);
    expect(mods).toContain('fs');
    expect(mods).not.toContain('tty');
    expect(mods).not.toContain('child_process');
    expect(mods).not.toContain('os');
  });

  it('--version and --check do not load node:os', () => {
    for (const args of [['--version'], ['--check', 'nobody']]) expect(loaded(args)).not.toContain('os');
  });

  it('--version reads no environment (neither a hand-over nor /proc/self/environ); --check does', () => {
    const opened = (args: string[]) => {
      const r = spawnSync(NODE24, ['-r', readsHook, path.join(REPO, 'dist/stepdown.cjs'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      return r.stderr.split('\n').filter((l) => l.startsWith('READ ')).map((l) => l.slice(5));
    };
    expect(opened(['--version'])).not.toContain('/proc/self/environ');
    expect(opened(['--check', 'nobody'])).toContain('/proc/self/environ'); // the hook sees the reads
  });

  it('--audit loads node:tty when it asks whether stdout is a terminal (the check above can fail)', () => {
    expect(loaded(['--audit'])).toContain('tty');
  });
});
