// The single executable's main script (seaLoader in build/sea.mjs) compiles the bundle asset
// with the code cache asset on the architecture the cache was made on, and without it
// elsewhere. Run here under plain Node, with node:sea answered from dist/ and vm.Script
// watched, so what V8 did with the cache is seen directly.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { describe, expect, it } from 'vitest';
// @ts-expect-error build/sea.mjs is plain JavaScript, with no types
import { NODE_VERSION, seaLoader } from '../../build/sea.mjs';
import { REPO, tempDir } from '../helpers/harness.js';

const nodeRequire = createRequire(__filename);
const bundle = fs.readFileSync(path.join(REPO, 'dist/stepdown.cjs'));
const cache = fs.readFileSync(path.join(REPO, 'dist/stepdown.cjs.cache'));

/** Runs the loader made for `cacheArch` with `--version`; what vm.Script was given and what it printed. */
function load(cacheArch: string, cacheAsset: Buffer = cache): { cache: string; printed: string; exit: unknown } {
  let seen = 'no compile';
  let printed = '';
  let exit: unknown;
  class Script extends vm.Script {
    constructor(source: string, options: vm.ScriptOptions) {
      super(source, options);
      seen = options.cachedData ? (this.cachedDataRejected ? 'rejected' : 'accepted') : 'none';
    }
  }
  // node:sea hands out an asset as an ArrayBuffer over the executable's own bytes
  const raw = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.length);
  const assets: Record<string, Buffer> = { 'stepdown.cjs': bundle, 'stepdown.cjs.cache': cacheAsset };
  const sea = {
    getRawAsset: (name: string) => (expect(Object.keys(assets)).toContain(name), raw(assets[name]!)),
  };
  // the bundle prints with fs.writeSync(1, ...) and ends with process.exit
  const fakeFs = { ...nodeRequire('node:fs'), writeSync: (fd: number, s: string) => (fd === 1 ? ((printed += s), s.length) : fs.writeSync(fd, s)) };
  const fakeRequire = (id: string): unknown => {
    if (id === 'node:sea') return sea;
    if (id === 'node:vm') return { ...vm, Script };
    if (id === 'node:fs' || id === 'fs') return fakeFs;
    return nodeRequire(id);
  };
  const argv = process.argv;
  const realExit = process.exit;
  return new Promise((resolve) => {
    process.argv = [process.execPath, process.execPath, '--version'];
    (process as { exit: unknown }).exit = (code: unknown) => {
      exit = code;
      process.argv = argv;
      (process as { exit: unknown }).exit = realExit;
      resolve({ cache: seen, printed, exit });
    };
    new Function('require', 'module', 'Buffer', seaLoader(cacheArch) as string)(fakeRequire, { exports: {} }, Buffer);
  }) as never;
}

/** The loader in a process of its own, node:sea answered from files, `--version`; stderr says what V8 did with the cache. */
const CHILD = `
const fs = require('node:fs'), vm = require('node:vm');
const [, loaderFile, bundleFile, cacheFile] = process.argv;
let seen = 'no compile';
class Script extends vm.Script {
  constructor(source, options) {
    super(source, options);
    seen = options.cachedData ? (this.cachedDataRejected ? 'rejected' : 'accepted') : 'none';
  }
}
const raw = (b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.length);
const assets = { 'stepdown.cjs': fs.readFileSync(bundleFile), 'stepdown.cjs.cache': fs.readFileSync(cacheFile) };
const fake = (id) => (id === 'node:sea' ? { getRawAsset: (name) => raw(assets[name]) } : id === 'node:vm' ? { ...vm, Script } : require(id));
process.on('exit', () => process._rawDebug('CACHE ' + seen));
process.argv = [process.execPath, process.execPath, '--version'];
new Function('require', 'module', 'Buffer', fs.readFileSync(loaderFile, 'utf8'))(fake, { exports: {} }, Buffer);
`;

// a code cache is only accepted by the Node that made it: the one inside the single executable
describe.runIf(process.version === `v${NODE_VERSION}`)('the single executable loader', () => {
  it('uses the code cache where it was made, and V8 accepts it', async () => {
    expect(await load(process.arch)).toEqual({ cache: 'accepted', printed: expect.stringMatching(/^stepdown \d+\.\d+\.\d+ \(node v/), exit: 0 });
  });

  // the cache asset starts with the bundle's last line (its build id); V8 itself checks little more than the length
  const id = bundle.subarray(bundle.lastIndexOf(0x0a, bundle.length - 2) + 1);

  it('compiles without a cache made for another build (its id differs), silently', async () => {
    const other = Buffer.from(cache);
    other[id.length - 2] = other[id.length - 2] === 0x30 ? 0x31 : 0x30;
    expect(await load(process.arch, other)).toEqual({ cache: 'none', printed: expect.stringMatching(/^stepdown \d+\.\d+\.\d+ \(node v/), exit: 0 });
  });

  // in a fresh process each: V8 keeps what this one compiled and would not look at the cache again
  it.each([
    ['damaged', () => Buffer.concat([id, Buffer.alloc(cache.length - id.length, 0x5a)])],
    ['cut short', () => cache.subarray(0, id.length + 100)],
    ['empty', () => id],
  ])('a cache with the right id that V8 refuses (%s) is no error', (name, make) => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'loader.js'), seaLoader(process.arch) as string);
    fs.writeFileSync(path.join(dir, 'cache'), make());
    const r = spawnSync(process.execPath, ['-e', CHILD, path.join(dir, 'loader.js'), path.join(REPO, 'dist/stepdown.cjs'), path.join(dir, 'cache')], { encoding: 'utf8' });
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: expect.stringMatching(/^stepdown \d+\.\d+\.\d+ \(node v[^\n]*\n$/), stderr: 'CACHE rejected\n' });
  });

  it('compiles without it on another architecture', async () => {
    expect(await load(process.arch === 'x64' ? 'arm64' : 'x64')).toMatchObject({ cache: 'none', exit: 0 });
  });
});
