// The single executable's main script (seaLoader in build/sea.mjs) compiles the bundle asset
// with the code cache asset on the architecture the cache was made on, and without it
// elsewhere. Run here under plain Node, with node:sea answered from dist/ and vm.Script
// watched, so what V8 did with the cache is seen directly.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { describe, expect, it } from 'vitest';
// @ts-expect-error build/sea.mjs is plain JavaScript, with no types
import { NODE_VERSION, seaLoader } from '../../build/sea.mjs';
import { REPO } from '../helpers/harness.js';

const nodeRequire = createRequire(__filename);
const bundle = fs.readFileSync(path.join(REPO, 'dist/stepdown.cjs'));
const cache = fs.readFileSync(path.join(REPO, 'dist/stepdown.cjs.cache'));

/** Runs the loader made for `cacheArch` with `--version`; what vm.Script was given and what it printed. */
function load(cacheArch: string): { cache: string; printed: string; exit: unknown } {
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
  const assets: Record<string, Buffer> = { 'stepdown.cjs': bundle, 'stepdown.cjs.cache': cache };
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

// a code cache is only accepted by the Node that made it: the one inside the single executable
describe.runIf(process.version === `v${NODE_VERSION}`)('the single executable loader', () => {
  it('uses the code cache where it was made, and V8 accepts it', async () => {
    expect(await load(process.arch)).toEqual({ cache: 'accepted', printed: expect.stringMatching(/^stepdown \d+\.\d+\.\d+ \(node v/), exit: 0 });
  });

  it('compiles without it on another architecture', async () => {
    expect(await load(process.arch === 'x64' ? 'arm64' : 'x64')).toMatchObject({ cache: 'none', exit: 0 });
  });
});
