// Re-owning a home after a uid change: stepdown's reownTrees against `usermod -u NEW -o user`
// (which re-owns the home) and `chown -hR --from=OLD NEW`, on two file systems:
// - ext4 (whatever /var/tmp is): a 100,000-file warm tree, reset with `chown -hR OLD:OLD`
//   before every run;
// - overlayfs, as image files are in a container: a smaller tree (20,000 files, every 100th
//   1 MiB, like shared libraries) is the lower layer, and every run mounts a fresh overlay over it
//   (new, empty upper and work dirs), so every chown is a copy-up, for every tool.
// All tools change only the uid of entries owned by OLD, on the same trees; runs are interleaved
// (tool by tool, file system by file system), tables report medians. Every run happens inside
// `unshare --mount` (the overlay and, for usermod, a private /etc live there) and is checked
// there with find: no entry left with OLD, every entry NEW:OLD. Times are taken inside the
// namespace around the tool alone: the shell's clock for usermod and chown, the reownTrees call
// itself for stepdown (a child process; Node's start-up is in the start-up benchmark).
//
// usermod runs against a throwaway user created with useradd, over a private copy of /etc
// bind-mounted on /etc: shadow writes /etc/passwd+ and rename()s it over /etc/passwd, which fails
// (EBUSY) when /etc/passwd itself is a bind mount, so the copies of passwd/group/shadow/gshadow
// live in a private /etc instead. The host's four files are hashed before and after; the
// benchmark fails if they changed.
//
//   node bench/reown.mjs [files=100000] [reps=5] [--overlay-files=20000] [--overlay-reps=3]
//        [--big-every=100] [--only=ext4|overlayfs] [--compare=NAME=path/to/reown.ts ...]
//   (as root; prints markdown; --compare adds rows for other builds of src/remap/reown.ts)
//   import { runReownBench } from './reown.mjs'; await runReownBench({ files, reps, ... })
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { buildTree, setOwner } from './reown/tree.mjs';

const OLD = 45301;
const NEW = 45302;
const USER = 'stepdown-bench';
const BASE = '/var/tmp/stepdown-bench-reown';
const OVERLAY_MAGIC = 0x794c7630;

export async function runReownBench({
  files = 100_000,
  reps = 5,
  overlayFiles = 20_000,
  overlayReps = 3,
  bigEvery = 100,
  only = undefined,
  compare = [],
} = {}) {
  if (process.getuid?.() !== 0) throw new Error('bench/reown.mjs must run as root');
  const work = fileURLToPath(new URL('./work/', import.meta.url));
  mkdirSync(work, { recursive: true });
  const engines = [{ name: 'stepdown reownTrees', src: fileURLToPath(new URL('../src/remap/reown.ts', import.meta.url)) }, ...compare];
  for (const [k, e] of engines.entries()) {
    e.bundle = `${work}reown${k ? `-${k}` : ''}.mjs`;
    await build({ entryPoints: [e.src], outfile: e.bundle, bundle: true, platform: 'node', format: 'esm', logLevel: 'warning' });
  }
  // Runs reownTrees once in this (namespaced) process; prints the call's time and counts.
  const child = `${work}reown-child.mjs`;
  writeFileSync(
    child,
    `const [bundle, root, req] = process.argv.slice(2);
const { reownTrees } = await import(bundle);
const { statfsSync } = await import('node:fs');
const t0 = performance.now();
const r = await reownTrees({ roots: [root], ...JSON.parse(req) });
const s = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ s, scanned: r.scanned, changed: r.changed, errors: r.errors.slice(0, 3), fsType: statfsSync(root).type }));
`,
  );

  const systems = [
    { fs: 'ext4', overlay: false, files, reps, lower: `${BASE}/ext4` },
    { fs: 'overlayfs', overlay: true, files: overlayFiles, reps: overlayReps, lower: `${BASE}/lower`, bigEvery },
  ].filter((s) => !only || only === s.fs);
  const etcBefore = hashEtc();
  try {
    for (const sys of systems) {
      sys.home = `${sys.lower}/home/${USER}`;
      sys.entries = buildTree(sys.home, sys.files, { uid: OLD, gid: OLD, bigEvery: sys.bigEvery ?? 0 });
      // The overlay's merged view of the home; the lower tree itself is never written.
      if (sys.overlay) sys.home = `${BASE}/ovl/merged/home/${USER}`;
    }
    const req = JSON.stringify({ from: { uid: OLD, gid: OLD }, to: { uid: NEW, gid: OLD } });
    const tools = [
      ...engines.map((e) => ({ name: e.name, cmd: (home) => `"$NODE" ${child} ${e.bundle} ${home} '${req}'`, node: true })),
      { name: `usermod -u ${NEW} -o`, cmd: () => `usermod -u ${NEW} -o ${USER}`, usermod: true },
      { name: `chown -hR --from=${OLD} ${NEW}`, cmd: (home) => `chown -hR --from=${OLD} ${NEW} ${home}` },
    ];
    for (const sys of systems) sys.times = tools.map(() => []);
    for (let i = 0; i < Math.max(...systems.map((s) => s.reps)); i++) {
      for (const sys of systems) {
        if (i >= sys.reps) continue;
        for (const [k, tool] of tools.entries()) sys.times[k].push(runOnce(sys, tool));
      }
    }
    return systems.map((sys) => table(sys, tools)).join('\n');
  } finally {
    rmSync(BASE, { recursive: true, force: true });
    if (hashEtc() !== etcBefore) throw new Error('the host /etc/passwd, group, shadow or gshadow changed!');
  }
}

/** One timed run of one tool in a private mount namespace, checked there; returns seconds. */
function runOnce(sys, tool) {
  const { home } = sys;
  const etc = `${BASE}/etc`;
  const ovl = `${BASE}/ovl`;
  if (sys.overlay) {
    rmSync(ovl, { recursive: true, force: true });
    for (const d of ['upper', 'work', 'merged']) mkdirSync(`${ovl}/${d}`, { recursive: true });
  } else setOwner(home, OLD, OLD);
  rmSync(etc, { recursive: true, force: true });
  const script = [
    sys.overlay && `mount -t overlay overlay -o lowerdir=${sys.lower},upperdir=${ovl}/upper,workdir=${ovl}/work ${ovl}/merged`,
    sys.overlay && `[ "$(stat -f -c %t ${home})" = "${OVERLAY_MAGIC.toString(16)}" ]`,
    tool.usermod && `cp -a /etc ${etc} && mount --bind ${etc} /etc`,
    tool.usermod && `groupadd -g ${OLD} ${USER}`,
    tool.usermod && `useradd -M -N -g ${OLD} -u ${OLD} -d ${home} -s /bin/false ${USER}`,
    'sync', // the previous run's dirty pages (copy-ups, inodes) are not written back during this one
    `t0=$(date +%s%N); ${tool.cmd(home)}; t1=$(date +%s%N)`,
    tool.usermod && `userdel ${USER}`,
    tool.usermod && `if getent group ${USER} >/dev/null; then groupdel ${USER}; fi # userdel may have removed it`,
    `echo $((t1 - t0)) $(find ${home} -uid ${OLD} | wc -l) $(find ${home} -uid ${NEW} -gid ${OLD} | wc -l)`,
  ].filter(Boolean);
  const out = execFileSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-euc', script.join('\n')], {
    env: { ...process.env, NODE: process.execPath },
  });
  rmSync(etc, { recursive: true, force: true });
  if (sys.overlay) rmSync(ovl, { recursive: true, force: true });
  const lines = out.toString().trim().split('\n');
  const [ns, left, moved] = lines.at(-1).split(' ').map(Number);
  if (left !== 0 || moved !== sys.entries) throw new Error(`${sys.fs}: ${tool.name} left ${left} entries, moved ${moved}/${sys.entries}`);
  if (!tool.node) return ns / 1e9;
  const r = JSON.parse(lines.at(-2));
  if (r.errors.length || r.changed !== sys.entries) throw new Error(`${sys.fs}: reownTrees: ${JSON.stringify(r)}`);
  if (sys.overlay !== (r.fsType === OVERLAY_MAGIC)) throw new Error(`${sys.fs}: statfs type ${r.fsType.toString(16)}`);
  return r.s;
}

function table(sys, tools) {
  const medians = sys.times.map(median);
  const [ours] = medians;
  const at = (name) => medians[tools.findIndex((t) => t.name.startsWith(name))];
  const what = sys.overlay
    ? `overlayfs, fresh upper layer every run (every chown copies up), ${sys.files.toLocaleString('en-US')} files, every ${sys.bigEvery}th 1 MiB`
    : `${sys.fs}, warm cache`;
  return [
    `### Re-owning a home after a uid change: ${what} (${sys.entries.toLocaleString('en-US')} entries, ${sys.reps} runs each)`,
    '',
    '| tool | median s | vs reownTrees | runs (s) |',
    '|---|---|---|---|',
    ...tools.map(
      (t, k) => `| ${t.name} | ${medians[k].toFixed(3)} | ${(medians[k] / ours).toFixed(2)}x | ${sys.times[k].map((s) => s.toFixed(2)).join(' ')} |`,
    ),
    '',
    `reownTrees takes ${(ours / at('usermod')).toFixed(2)}x as long as usermod and ${(ours / at('chown')).toFixed(2)}x as long as chown -R on ${sys.fs}.`,
    '',
  ].join('\n');
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
  const argv = process.argv.slice(2);
  const opt = (name) => argv.filter((a) => a.startsWith(`--${name}=`)).map((a) => a.slice(name.length + 3));
  const num = (name) => (opt(name).length ? Number(opt(name)[0]) : undefined);
  const [files, reps] = argv.filter((a) => !a.startsWith('--')).map(Number);
  console.log(
    await runReownBench({
      files: files || undefined,
      reps: reps || undefined,
      overlayFiles: num('overlay-files'),
      overlayReps: num('overlay-reps'),
      bigEvery: num('big-every'),
      only: opt('only')[0],
      compare: opt('compare').map((c) => ({ name: c.slice(0, c.indexOf('=')), src: c.slice(c.indexOf('=') + 1) })),
    }),
  );
}
