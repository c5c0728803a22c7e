// Bundles src/main.ts into the one file both distributions run: dist/stepdown.cjs.
// Deterministic (no timestamps, no absolute paths) so the single executable is reproducible.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

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
});
