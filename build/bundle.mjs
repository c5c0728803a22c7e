// Bundles src/main.ts into the one file both distributions run: dist/stepdown.cjs.
// Deterministic (no timestamps, no absolute paths) so the single executable is reproducible.
// Then the V8 code cache beside it, dist/stepdown.cjs.cache (see build/code-cache.mjs).
import { build, transform } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { makeCodeCache } from './code-cache.mjs';
import { x64Node } from './sea.mjs';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

// commander imports node:child_process only to spawn executable subcommands, which stepdown
// has none of; loading it (and the net/stream modules behind it) costs every start ~10 ms.
// Hand commander a stand-in that loads the real module on first use.
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^node:child_process$/ }, (args) =>
      /[\\/]node_modules[\\/]commander[\\/]/.test(args.importer) ? { path: 'child_process', namespace: 'lazy' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy' }, () => ({
      loader: 'js',
      contents: "module.exports = { spawn: (...args) => require('node:child_process').spawn(...args) };",
    }));
  },
};

const built = await build({
  entryPoints: ['src/main.ts'],
  bundle: true,
  write: false,
  platform: 'node',
  target: 'node22.15',
  format: 'cjs',
  minify: false, // minified below, after the namespace rewrite
  legalComments: 'none',
  define: { STEPDOWN_VERSION: JSON.stringify(version) },
  logLevel: 'warning',
  plugins: [lazyChildProcess],
});

// `import * as fs from 'node:fs'` becomes `__toESM(require("node:fs"))`, which copies every
// property of the module into a new object of getters, for each Node module at every start
// (~2 ms). A Node module needs no ES interop (stepdown never default-imports one), so it is
// used as is. (A default import, as in commander, is `__toESM(require(...), 1)` and is kept.)
let text = built.outputFiles[0].text.replace(/__toESM\((require\("node:[a-z_/]+"\))\)/g, '$1');
// Each module of the bundle requires the Node modules it imports itself (node:fs 18 times),
// and every require() of a Node module walks Module._load; the walks were hot enough to get
// compiled. One memo: the first use of a module requires it, later ones take it from there.
if (!text.startsWith('"use strict";\n')) throw new Error('the bundle does not start with "use strict"');
text = text.replace(/\brequire\(("node:[a-z_/]+")\)/g, '__nodeModule($1)');
text = `"use strict";\nvar __nodeModules = {}, __nodeModule = (name) => __nodeModules[name] ??= require(name);\n${text.slice('"use strict";\n'.length)}`;
text = (await transform(text, { minify: true, target: 'node22.15', format: 'cjs', legalComments: 'none', logLevel: 'warning' })).code;

// The bundle's last line names it, so a code cache can be matched to the very bytes it was made from.
const outfile = 'dist/stepdown.cjs';
const bundled = Buffer.from(text);
mkdirSync('dist', { recursive: true });
writeFileSync(outfile, Buffer.concat([bundled, Buffer.from(`//# stepdown-build ${createHash('sha256').update(bundled).digest('hex')}\n`)]));
writeFileSync(`${outfile}.cache`, makeCodeCache(outfile, x64Node()));
