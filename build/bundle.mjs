// Bundles src/main.ts into the one file both distributions run: dist/stepdown.cjs.
// Deterministic (no timestamps, no absolute paths) so the single executable is reproducible.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

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

await build({
  entryPoints: ['src/main.ts'],
  outfile: 'dist/stepdown.cjs',
  bundle: true,
  platform: 'node',
  target: 'node22.15',
  format: 'cjs',
  minify: true,
  legalComments: 'none',
  define: { STEPDOWN_VERSION: JSON.stringify(version) },
  logLevel: 'warning',
  plugins: [lazyChildProcess],
});
