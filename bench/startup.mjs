// Start-up benchmark of the single executable against gosu, setpriv, a bare SEA and plain Node.
//
//   node bench/startup.mjs [--runs N]      (prints markdown; needs root, npm run build + build:bin)
//   import { runStartupBench } from './startup.mjs'; const markdown = await runStartupBench();
//
// hyperfine (-N --warmup 3) times all commands side by side in each of 5 rounds, so they share
// the machine's state; medians and σ pool the per-run times of every round's --export-json. Peak RSS is /usr/bin/time -v's
// "Maximum resident set size", the minimum of 3 runs (ru_maxrss survives execve, so for the
// launchers it covers the launcher phase and the target). The bare SEA is built with
// build/sea.mjs exactly like stepdown, from a file holding `process.exitCode = 0`, so
// "stepdown vs bare SEA" is what stepdown costs on top of Node's bootstrap; a second bare SEA that
// only calls process.execve('/bin/true') separates Node's own exec cost from stepdown's code.
// Debian packages hyperfine, gosu and time are installed when missing (as root).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, release } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, buildSea, ensureDebianTool, onPath, x64Node } from '../build/sea.mjs';

const WORK = join(ROOT, 'bench', 'work', 'startup');
const DIST = join(ROOT, 'dist');

const rel = (p) => relative(ROOT, p) || '.';
const quote = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`);
const ms = (s) => (s * 1000).toFixed(1);
const mb = (bytes) => (bytes / 1e6).toFixed(1);

/** Peak RSS in bytes: min over `times` runs of /usr/bin/time -v. */
function peakRss(argv, times = 3) {
  let best = Infinity;
  for (let i = 0; i < times; i++) {
    const r = spawnSync('/usr/bin/time', ['-v', ...argv], { encoding: 'utf8' });
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
  for (const f of [stepdown, bundle]) {
    if (!existsSync(f)) throw new Error(`${rel(f)} is missing: run npm run build && npm run build:bin`);
  }
  ensureDebianTool('hyperfine', 'hyperfine', log);
  ensureDebianTool('gosu', 'gosu', log);
  if (!existsSync('/usr/bin/time')) ensureDebianTool('time', 'time', log);
  ensureDebianTool('setpriv', 'util-linux', log);
  const node = x64Node();
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

  const commands = [
    { name: 'stepdown SEA', argv: [stepdown, 'nobody', '--', '/bin/true'], file: stepdown },
    { name: 'stepdown SEA --version', argv: [stepdown, '--version'], file: stepdown },
    { name: 'gosu', argv: [gosu, 'nobody', 'true'], file: gosu },
    { name: 'setpriv', argv: [setpriv, '--reuid=65534', '--regid=65534', '--clear-groups', '/bin/true'], file: setpriv },
    { name: 'bare SEA', argv: [trivial], file: trivial },
    { name: 'bare SEA + execve', argv: [trivialExec], file: trivialExec },
    { name: 'node -e 0', argv: [node, '-e', '0'], file: node },
    { name: 'node stepdown.cjs', argv: [node, bundle, 'nobody', '--', '/bin/true'], file: bundle },
  ];
  for (const c of commands) {
    const r = spawnSync(c.argv[0], c.argv.slice(1), { encoding: 'utf8' });
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
    const hf = spawnSync('hyperfine', hfArgs, { encoding: 'utf8' });
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
    return { ...c, ...stats(c.name), rss: peakRss(c.argv), size: statSync(c.file).size };
  });
  const get = (name) => rows.find((r) => r.name === name);
  const g = get('gosu');
  const bare = get('bare SEA');
  const sd = get('stepdown SEA');
  const pkg = get('node stepdown.cjs');
  const ver = get('stepdown SEA --version');
  const bareExec = get('bare SEA + execve');

  const hfVersion = spawnSync('hyperfine', ['--version'], { encoding: 'utf8' }).stdout.trim();
  const display = (c) => c.argv.map((a) => (a.startsWith(ROOT) ? rel(a) : a)).map(quote).join(' ');
  const lines = [
    '## Start-up',
    '',
    `${hfVersion}, \`-N --warmup 3\`, ${rounds} rounds of ${perRound} runs, every round timing all commands side by side (${rounds * perRound} runs each); Linux ${release()}, ` +
      `${process.arch}, Node ${spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()}, load average ${load} before the bench. ` +
      `Peak RSS: min of 3 runs of \`/usr/bin/time -v\`${dropped ? ' (page cache dropped first)' : ''}. ` +
      `CPU ms: user + system time per run (less sensitive than wall time to other load). ` +
      `Size: the file that runs (for the npm package: the bundle, plus a Node install).`,
    '',
    '| what | command | median ms | mean ± σ ms | min ms | CPU ms | × gosu | × bare SEA | peak RSS MB | size MB |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|',
    ...rows.map(
      (r) =>
        `| ${r.name} | \`${display(r)}\` | ${ms(r.median)} | ${ms(r.mean)} ± ${ms(r.stddev)} | ${ms(r.min)} | ${ms(r.cpu)} | ` +
        `${(r.median / g.median).toFixed(1)} | ${(r.median / bare.median).toFixed(2)} | ${mb(r.rss)} | ${mb(r.size)} |`,
    ),
    '',
    `stepdown SEA vs bare SEA: median ${ms(sd.median)} ms vs ${ms(bare.median)} ms, ` +
      `${sd.median >= bare.median ? '+' : ''}${ms(sd.median - bare.median)} ms ` +
      `(${((sd.median / bare.median - 1) * 100).toFixed(0)} %); CPU ${ms(sd.cpu)} vs ${ms(bare.cpu)} ms; ` +
      `min ${ms(sd.min)} vs ${ms(bare.min)} ms; peak RSS ${mb(sd.rss)} vs ${mb(bare.rss)} MB. ` +
      `The rest is Node's own bootstrap: stepdown is ${(sd.median / g.median).toFixed(1)}× gosu ` +
      `(${ms(g.median)} ms). \`--version\` (bootstrap + loading the bundle, no drop, no exec) takes ` +
      `${ms(ver.median)} ms. Node's own \`process.execve\` of /bin/true, with no drop (bare SEA + execve), takes ` +
      `${ms(bareExec.median)} ms, so stepdown's own code (loading the bundle, parsing, reading /etc and /proc, the drop, ` +
      `its verification and the pre-exec checks) adds ${ms(sd.median - bareExec.median)} ms. ` +
      `The npm package path (\`node stepdown.cjs\`) takes ${ms(pkg.median)} ms.`,
    '',
  ];
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
