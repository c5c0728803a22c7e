// Replacing an /etc file: complete or not at all, the link and the mode kept, no temp file left.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commit, discard, removeStaleTemps, stage, tempPrefix } from '../../../src/system/atomic-write.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stepdown-test-atomic-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('stage, then commit', () => {
  it('renames the new bytes over the file, with the old mode, and leaves no temp file', () => {
    const file = path.join(dir, 'passwd');
    fs.writeFileSync(file, 'old\n', { mode: 0o640 });
    fs.chmodSync(file, 0o640);
    const w = stage(file, Buffer.from('new content\n'))!;
    expect(fs.readFileSync(file, 'utf8')).toBe('old\n'); // staging changes nothing yet
    expect(commit(w)).toBe('renamed');
    expect(fs.readFileSync(file, 'utf8')).toBe('new content\n');
    expect(fs.statSync(file).mode & 0o7777).toBe(0o640);
    expect(fs.readdirSync(dir)).toEqual(['passwd']);
  });

  it('replaces the file a symlink points to and keeps the link', () => {
    fs.mkdirSync(path.join(dir, 'real'));
    const target = path.join(dir, 'real', 'group');
    fs.writeFileSync(target, 'old\n');
    const link = path.join(dir, 'group');
    fs.symlinkSync('real/group', link);
    commit(stage(link, Buffer.from('new\n'))!);
    expect(fs.readlinkSync(link)).toBe('real/group');
    expect(fs.readFileSync(target, 'utf8')).toBe('new\n');
  });
});

describe('discard and removeStaleTemps', () => {
  it('remove staged and left-behind temp files, and nothing else', () => {
    const file = path.join(dir, 'passwd');
    fs.writeFileSync(file, 'old\n');
    const w = stage(file, Buffer.from('new\n'))!;
    discard(w);
    expect(fs.readdirSync(dir)).toEqual(['passwd']);
    fs.writeFileSync(path.join(dir, `${tempPrefix(file)}1-abc`), 'half');
    fs.writeFileSync(path.join(dir, 'other'), 'keep');
    removeStaleTemps(file);
    expect(fs.readdirSync(dir).sort()).toEqual(['other', 'passwd']);
    expect(fs.readFileSync(file, 'utf8')).toBe('old\n');
  });
});
