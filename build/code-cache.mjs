// Makes dist/stepdown.cjs.cache: V8's code cache for the bundle, taken after warm runs of the
// paths every container start takes (--version, --check, a drop up to the exec), so it holds
// the bytecode of the functions those runs compiled, not only the top level that V8 compiles
// eagerly. A start that is handed this cache skips parsing and compiling them.
//
// The cache is only ever read (by bin/stepdown's JavaScript and by seaLoader in build/sea.mjs); it is
// made here with the Node the single executable embeds. V8 rejects a cache made by another V8
// version or with other flags, and stepdown then compiles as if it had none.
//
// The file starts with the bundle's last line, '//# stepdown-build <sha256 of the rest>\n'
// (written by build/bundle.mjs), and the loaders use the cache only after that line, so a cache
// is never applied to another build (V8 itself only compares the source's length). The line is
// not re-hashed at run time (that would load node:crypto on every start): a bundle edited in
// place that keeps its length and its last line would run the cached code. Rebuild; never
// patch dist/.
//
// Reproducible: the warm-up child runs with --predictable (one thread, fixed seeds), without
// which V8 serialises the same functions in a different order from run to run. V8 accepts such
// a cache in a Node started without the flag (tested).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The wrapper the loader compiles the bundle in: the same bytes here and at run time. */
export const WRAP_HEAD = '(function (exports, require, module, __filename, __dirname) { ';
export const WRAP_TAIL = '\n})';

// Runs in a child Node: loads the bundle the way the loader does, runs it with each argv in
// turn (process.exit and process.execve stubbed, so each run ends back here), then writes
// the code cache to fd 3. The drop, when root, is real: it runs last, and fd 3 is already open.
const WARM = `
'use strict';
const vm = require('node:vm');
const fs = require('node:fs');
const [file, head, tail, ...runs] = JSON.parse(process.argv[1]);
const source = head + fs.readFileSync(file, 'utf8') + tail;
const script = new vm.Script(source, { filename: file });
const realExit = process.exit;
let done;
process.exit = (code) => done(code);
process.execve = () => { throw Object.assign(new Error('warm-up run: no exec'), { code: 'EPERM' }); };
(async () => {
  for (const argv of runs) {
    process.argv = [process.argv0, file, ...argv];
    await new Promise((resolve) => {
      done = resolve;
      script.runInThisContext()(module.exports, require, module, file, require('node:path').dirname(file));
    });
  }
  fs.writeSync(3, script.createCachedData());
  realExit(0);
})();
`;

/** The argv of each warm-up run, in order (the drop last: nothing runs as root after it). */
export const WARM_RUNS = [['--version'], ['--check', 'nobody'], ['nobody', '--', '/bin/true']];

/** Make the code cache of `bundle` with `node`; returns the file's bytes (the bundle's last line + V8 data). */
export function makeCodeCache(bundle, node) {
  const r = spawnSync(node, ['--predictable', '-e', WARM, JSON.stringify([bundle, WRAP_HEAD, WRAP_TAIL, ...WARM_RUNS])], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`making the code cache of ${bundle} failed (${r.signal ?? `exit ${r.status}`}):\n${r.stderr}`);
  const source = readFileSync(bundle, 'latin1');
  const id = source.slice(source.lastIndexOf('\n', source.length - 2) + 1);
  if (!id.startsWith('//# stepdown-build ')) throw new Error(`${bundle} does not end with its build line`);
  return Buffer.concat([Buffer.from(id, 'latin1'), r.output[3]]);
}
