// The npm entry point compiles the bundle with the V8 code cache built beside it
// (dist/stepdown.cjs.cache): used when it is the one made for this very bundle by this Node,
// never when it belongs to another bundle or someone else could have written it, and a cache
// that cannot be used is never an error. What is observed: which cache vm.Script was given and
// whether V8 took it (a hook wraps vm.Script), and that stepdown still prints its version.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IS_ROOT, NODE24, REPO, runWithEtc, tempDir } from '../helpers/harness.js';

const dir = tempDir('stepdown-test-cache-'); // removed after the file's tests

const HOOK = path.join(dir, 'hook.cjs');
fs.writeFileSync(
  HOOK,
  `const vm = require('node:vm');
const Script = vm.Script;
vm.Script = class extends Script {
  constructor(source, options) {
    super(source, options);
    process._rawDebug('CACHE ' + (options && options.cachedData ? (this.cachedDataRejected ? 'rejected' : 'accepted') : 'none'));
  }
};
`,
);

/** `node bin/stepdown --version` (the JavaScript half of the entry point) with the hook. */
function version(bin: string): { cache: string; stdout: string; status: number | null } {
  const r = spawnSync(NODE24, ['-r', HOOK, bin, '--version'], { encoding: 'utf8' });
  return { cache: /CACHE (\w+)/.exec(r.stderr)?.[1] ?? `no report: ${r.stderr}`, stdout: r.stdout, status: r.status };
}

/** A copy of the package (bin/stepdown, the bundle, and `cache` as its code cache unless null). */
function pkg(name: string, cache: Buffer | null, bundle = fs.readFileSync(path.join(REPO, 'dist/stepdown.cjs'))): string {
  const root = path.join(dir, name);
  fs.mkdirSync(path.join(root, 'bin'), { recursive: true });
  fs.mkdirSync(path.join(root, 'dist'));
  fs.copyFileSync(path.join(REPO, 'bin/stepdown'), path.join(root, 'bin/stepdown'));
  fs.writeFileSync(path.join(root, 'dist/stepdown.cjs'), bundle);
  if (cache) fs.writeFileSync(path.join(root, 'dist/stepdown.cjs.cache'), cache, { mode: 0o644 });
  return path.join(root, 'bin/stepdown');
}

const VERSION = /^stepdown \d+\.\d+\.\d+ \(node v24\.\d+\.\d+\)\n$/;
const CACHE = fs.readFileSync(path.join(REPO, 'dist/stepdown.cjs.cache'));

describe('the code cache of the npm entry point', () => {
  it('is used, and V8 accepts it', () => {
    const r = version(path.join(REPO, 'bin/stepdown'));
    expect(r.cache).toBe('accepted');
    expect(r.stdout).toMatch(VERSION);
  });

  it('is not used for another bundle of the same length (V8 would only compare the length)', () => {
    const bundle = Buffer.from(fs.readFileSync(path.join(REPO, 'dist/stepdown.cjs')));
    const at = bundle.lastIndexOf('//# stepdown-build ') + 19;
    bundle[at] = bundle[at] === 0x30 ? 0x31 : 0x30; // another build line, same length
    const r = version(pkg('other-bundle', CACHE, bundle));
    expect(r.cache).toBe('none');
    expect(r.stdout).toMatch(VERSION);
  });

  it('missing or rejected by V8 is no error', () => {
    expect(version(pkg('no-cache', null))).toMatchObject({ cache: 'none', status: 0, stdout: expect.stringMatching(VERSION) });
    const header = CACHE.subarray(0, CACHE.indexOf(10) + 1);
    const garbage = Buffer.concat([header, Buffer.alloc(4096, 0x5a)]);
    expect(version(pkg('garbage', garbage))).toMatchObject({ cache: 'rejected', status: 0, stdout: expect.stringMatching(VERSION) });
  });

  it('is not used when others could have written it', () => {
    const writable = pkg('writable', CACHE);
    fs.chmodSync(path.join(path.dirname(writable), '../dist/stepdown.cjs.cache'), 0o666);
    expect(version(writable)).toMatchObject({ cache: 'none', status: 0 });
  });

  it('a FIFO where the cache belongs is no cache, and does not hang the start', () => {
    const fifo = pkg('fifo', null);
    expect(spawnSync('mkfifo', [path.join(path.dirname(fifo), '../dist/stepdown.cjs.cache')]).status).toBe(0);
    const r = spawnSync(NODE24, ['-r', HOOK, fifo, '--version'], { encoding: 'utf8', timeout: 10_000 });
    expect([r.signal, r.status, r.stdout]).toEqual([null, 0, expect.stringMatching(VERSION)]);
  });

  it.runIf(IS_ROOT)('is not used by root when another user owns it', () => {
    const owned = pkg('owned', CACHE);
    fs.chownSync(path.join(path.dirname(owned), '../dist/stepdown.cjs.cache'), 65534, 65534);
    expect(version(owned)).toMatchObject({ cache: 'none', status: 0 });
  });

  // the warm-up runs stepdown (as root: a real drop), so it gets a private /etc, /root and /home
  it('is made reproducibly: two builds of the same bundle give the same bytes', () => {
    const make = `import(${JSON.stringify(path.join(REPO, 'build/code-cache.mjs'))}).then((m) => {
      const bytes = m.makeCodeCache(${JSON.stringify(path.join(REPO, 'dist/stepdown.cjs'))}, process.execPath);
      process.stdout.write(require('node:crypto').createHash('sha256').update(bytes).digest('hex') + ' ' + bytes.length);
    })`;
    const [a, b] = [runWithEtc([NODE24, '-e', make]), runWithEtc([NODE24, '-e', make])];
    expect(a.stdout, a.stderr).toMatch(/^[0-9a-f]{64} \d{5,}$/);
    expect(b.stdout).toBe(a.stdout);
  }, 60_000);
});
