// Re-owning a 100,000-file home after a uid change: stepdown's reownTrees against
// `usermod -u NEW -o user` (which re-owns the home) and `chown -hR --from=OLD NEW`.
// All three change only the uid of entries owned by OLD, on the same warm tree, reset with
// `chown -hR OLD:OLD` before every run; runs are interleaved, the table reports medians.
//
// usermod runs against a throwaway user created with useradd inside `unshare --mount`, over a
// private copy of /etc bind-mounted on /etc: shadow writes /etc/passwd+ and rename()s it over
// /etc/passwd, which fails (EBUSY) when /etc/passwd itself is a bind mount, so the copies of
// passwd/group/shadow/gshadow live in a private /etc instead. The host's four files are hashed
// before and after; the benchmark fails if they changed.
//
//   node bench/reown.mjs [files=100000] [reps=5]     (as root; prints a markdown table)
//   import { runReownBench } from './reown.mjs'; await runReownBench({ files, reps })
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { buildTree, setOwner } from './reown/tree.mjs';

const OLD = 45301;
const NEW = 45302;
const USER = 'stepdown-bench';
const BASE = '/var/tmp/stepdown-bench-reown';

export async function runReownBench({ files = 100_000, reps = 5 } = {}) {
  if (process.getuid?.() !== 0) throw new Error('bench/reown.mjs must run as root');
  const work = fileURLToPath(new URL('./work/', import.meta.url));
  mkdirSync(work, { recursive: true });
  const bundle = `${work}reown.mjs`;
  await build({
    entryPoints: [fileURLToPath(new URL('../src/reown.ts', import.meta.url))],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    logLevel: 'warning',
  });
  const { reownTrees } = await import(`${pathToFileURL(bundle).href}?${Date.now()}`);

  const home = `${BASE}/home/${USER}`;
  const etcBefore = hashEtc();
  try {
    const entries = buildTree(home, files, { uid: OLD, gid: OLD });
    const tools = [
      {
        name: 'stepdown reownTrees',
        run: async () => {
          const t0 = performance.now();
          const r = await reownTrees({ roots: [home], from: { uid: OLD, gid: OLD }, to: { uid: NEW, gid: OLD } });
          const s = (performance.now() - t0) / 1000;
          if (r.errors.length || r.changed !== entries) throw new Error(`reownTrees: ${JSON.stringify(r).slice(0, 300)}`);
          return s;
        },
      },
      { name: `usermod -u ${NEW} -o`, run: async () => usermod(home) },
      {
        name: `chown -hR --from=${OLD} ${NEW}`,
        run: async () => timed(() => execFileSync('chown', ['-hR', `--from=${OLD}`, String(NEW), home])),
      },
    ];
    const times = tools.map(() => []);
    for (let i = 0; i < reps; i++) {
      for (const [k, tool] of tools.entries()) {
        setOwner(home, OLD, OLD);
        times[k].push(await tool.run());
        const left = count(home, `-uid ${OLD}`);
        const moved = count(home, `-uid ${NEW} -gid ${OLD}`);
        if (left !== 0 || moved !== entries) throw new Error(`${tool.name} left ${left} entries, moved ${moved}/${entries}`);
      }
    }
    const medians = times.map(median);
    const rows = tools.map(
      (t, k) =>
        `| ${t.name} | ${medians[k].toFixed(3)} | ${(medians[k] / medians[0]).toFixed(2)}x | ${times[k].map((s) => s.toFixed(2)).join(' ')} |`,
    );
    return [
      `### Re-owning a home after a uid change (${entries.toLocaleString('en-US')} entries, ${reps} runs each, warm cache)`,
      '',
      '| tool | median s | vs reownTrees | runs (s) |',
      '|---|---|---|---|',
      ...rows,
      '',
    ].join('\n');
  } finally {
    rmSync(BASE, { recursive: true, force: true });
    if (hashEtc() !== etcBefore) throw new Error('the host /etc/passwd, group, shadow or gshadow changed!');
  }
}

/** useradd + timed usermod + userdel in a private mount namespace over a private /etc. */
function usermod(home) {
  const etc = `${BASE}/etc`;
  rmSync(etc, { recursive: true, force: true });
  const script = `
    cp -a /etc ${etc} && mount --bind ${etc} /etc
    groupadd -g ${OLD} ${USER}
    useradd -M -N -g ${OLD} -u ${OLD} -d ${home} -s /bin/false ${USER}
    t0=$(date +%s%N); usermod -u ${NEW} -o ${USER}; t1=$(date +%s%N)
    userdel ${USER}
    if getent group ${USER} >/dev/null; then groupdel ${USER}; fi  # userdel may have removed it
    echo $((t1 - t0))`;
  const out = execFileSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-euc', script]);
  rmSync(etc, { recursive: true, force: true });
  return Number(out.toString().trim().split('\n').at(-1)) / 1e9;
}

function timed(f) {
  const t0 = performance.now();
  f();
  return (performance.now() - t0) / 1000;
}

function count(root, test) {
  return Number(execFileSync('sh', ['-c', `find "$0" ${test} | wc -l`, root]).toString().trim());
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function hashEtc() {
  const h = createHash('sha256');
  for (const f of ['passwd', 'group', 'shadow', 'gshadow']) h.update(readFileSync(`/etc/${f}`));
  return h.digest('hex');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [files, reps] = process.argv.slice(2).map(Number);
  console.log(await runReownBench({ files: files || undefined, reps: reps || undefined }));
}
