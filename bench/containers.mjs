// Container start with stepdown under runc and under gVisor (runsc), side by side in one
// hyperfine run: `docker run --rm IMAGE stepdown nobody -- true` against the same image
// running `true` directly, so the runtime's own cost and stepdown's share are both visible.
// Needs the engine from test/e2e/engine.sh (DOCKER_HOST) and dist/stepdown-linux-x64.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const IMAGE = 'stepdown-bench/debian';

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

function buildImage() {
  const ctx = fs.mkdtempSync(path.join(os.tmpdir(), 'stepdown-bench-'));
  fs.copyFileSync(path.join(REPO, 'dist/stepdown-linux-x64'), path.join(ctx, 'stepdown'));
  fs.writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM debian:bookworm-slim\nCOPY stepdown /usr/local/bin/stepdown\n');
  sh('timeout', ['300', 'docker', 'build', '-q', '-t', IMAGE, ctx]);
  fs.rmSync(ctx, { recursive: true, force: true });
}

export async function runContainerBench({ runs = 15, log = () => {} } = {}) {
  log('containers: building the image');
  buildImage();
  const runtimes = sh('docker', ['info', '--format', '{{json .Runtimes}}']).includes('"runsc"') ? ['runc', 'runsc'] : ['runc'];
  const commands = [];
  for (const rt of runtimes) {
    commands.push([`${rt}: true`, `docker run --rm --runtime=${rt} ${IMAGE} true`]);
    commands.push([`${rt}: stepdown nobody -- true`, `docker run --rm --runtime=${rt} ${IMAGE} stepdown nobody -- true`]);
  }
  const json = path.join(os.tmpdir(), `stepdown-bench-containers-${process.pid}.json`);
  log(`containers: hyperfine, ${runs} runs each`);
  sh('hyperfine', ['-N', '--warmup', '2', '--runs', String(runs), '--export-json', json, ...commands.flatMap(([name, cmd]) => ['-n', name, cmd])], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const results = JSON.parse(fs.readFileSync(json, 'utf8')).results;
  fs.rmSync(json, { force: true });
  const median = Object.fromEntries(results.map((r) => [r.command, r.median * 1000]));
  const rows = results.map((r) => {
    const rt = r.command.split(':')[0];
    const base = median[`${rt}: true`];
    return `| ${r.command} | ${(r.median * 1000).toFixed(0)} | ${(r.min * 1000).toFixed(0)}–${(r.max * 1000).toFixed(0)} | ${r.command.endsWith('true') && !r.command.includes('stepdown') ? '—' : `+${(r.median * 1000 - base).toFixed(0)} ms`} |`;
  });
  const ratio = runtimes.length === 2 ? (median['runsc: stepdown nobody -- true'] / median['runc: stepdown nobody -- true']).toFixed(2) : undefined;
  return [
    '## Container start: runc and gVisor',
    '',
    `\`docker run --rm ${IMAGE} …\` (Debian slim + the x64 single executable), hyperfine, ${runs} runs each, one run.`,
    '',
    '| command | median ms | min–max ms | stepdown adds |',
    '|---|---|---|---|',
    ...rows,
    '',
    ratio ? `Under gVisor the same start takes ${ratio}× as long as under runc; stepdown's own share is the difference to \`true\` in each runtime (Node starts more slowly in the sandbox).` : 'runsc is not registered with this engine; only runc was measured.',
    '',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(await runContainerBench({ log: (m) => process.stderr.write(m + '\n') }));
}
