// `npm run bench`: every benchmark of the project in one run, written to bench/RESULTS.md
// (machine, versions, medians, ratios). Each section compares stepdown side by side with the
// tools people use instead, in the same run, on the same machine.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..');
const log = (m) => process.stderr.write(`[bench] ${m}\n`);
const out = (cmd, args) => spawnSync(cmd, args, { encoding: 'utf8' }).stdout?.trim() ?? '';

function machine() {
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  return [
    '# stepdown benchmarks',
    '',
    `Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}. Numbers from one run on one machine: compare rows within a table.`,
    '',
    '| | |',
    '|---|---|',
    `| machine | ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${out('uname', ['-sr'])} |`,
    `| stepdown | ${JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).version}, Node ${process.version} |`,
    `| gosu | ${out('gosu', ['--version']).split('\n')[0] || 'not installed'} |`,
    `| setpriv | ${out('setpriv', ['--version']) || 'not installed'} |`,
    `| docker | ${out('docker', ['version', '--format', '{{.Server.Version}}']) || 'no engine'} |`,
    '',
  ].join('\n');
}

const sections = [
  ['startup', () => import('./startup.mjs').then((m) => m.runStartupBench({ log }))],
  ['reown', () => import('./reown.mjs').then((m) => m.runReownBench())],
  ['containers', () => import('./containers.mjs').then((m) => m.runContainerBench({ log }))],
];

const only = process.argv.slice(2);
const parts = [machine()];
for (const [name, run] of sections) {
  if (only.length > 0 && !only.includes(name)) continue;
  log(`${name}…`);
  try {
    parts.push(await run());
  } catch (err) {
    parts.push(`## ${name}\n\nNot measured in this run: ${String(err.message ?? err).split('\n')[0]}\n`);
    log(`${name} failed: ${err.message ?? err}`);
  }
}
fs.writeFileSync(path.join(HERE, 'RESULTS.md'), parts.join('\n'));
log('wrote bench/RESULTS.md');
