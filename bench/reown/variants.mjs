// Which way of walking and chowning re-owns a 100k-file tree fastest? reownTrees synchronous (the
// walk in time slices), pooled (chowns through libuv's threadpool: how many in flight and on how
// many threads), or auto (what reownTrees picks), against three bare synchronous loops (no time
// slices, no checks) that differ only in how they name an entry: 'loop' by its full path,
// 'chdir-loop' by its name after chdir into its directory (what reownTrees does), 'procfd-loop'
// as /proc/self/fd/<directory fd>/<name> (what pooled chowns use), and `chown -hR --from`. Each configuration runs in its
// own process (UV_THREADPOOL_SIZE is read at the first threadpool use). With --overlay the tree is
// the lower layer of an overlayfs (as image files are in a container: every chown copies the file
// up), mounted in a private mount namespace. Prints a markdown table.
//   node bench/reown/variants.mjs [files=100000] [reps=3] [--overlay] [--cold] [--big-every=N]
//   [--only=chown,loop,chdir-loop,procfd-loop,sync,auto,64x4,...]   (N: every Nth file is 1 MiB; see `names` below)
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { buildTree, setOwner } from './tree.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const work = fileURLToPath(new URL('../work/', import.meta.url));
const OLD = 45101, NEW = 45102;

// The simplest possible engines, as yardsticks: one entry is an lstat and an lchown.
const fs = await import('node:fs');
const entry = (p, counts) => {
  const st = fs.lstatSync(p);
  counts.scanned++;
  if (st.uid === OLD || st.gid === OLD) {
    fs.lchownSync(p, NEW, NEW);
    counts.changed++;
  }
  return st.isDirectory();
};
const loops = {
  loop(root) {
    const counts = { scanned: 0, changed: 0 };
    const stack = [root];
    while (stack.length) {
      const p = stack.pop();
      if (entry(p, counts)) for (const n of fs.readdirSync(p)) stack.push(`${p}/${n}`);
    }
    return counts;
  },
  'chdir-loop'(root) {
    const counts = { scanned: 0, changed: 0 };
    const visit = (name) => {
      if (!entry(name, counts)) return;
      process.chdir(name);
      for (const n of fs.readdirSync('.')) visit(n);
      process.chdir('..');
    };
    const cwd = process.cwd();
    process.chdir(`${root}/..`);
    visit(root.slice(root.lastIndexOf('/') + 1));
    process.chdir(cwd);
    return counts;
  },
  'procfd-loop'(root) {
    const counts = { scanned: 0, changed: 0 };
    const visit = (dirFd, name) => {
      const p = `/proc/self/fd/${dirFd}/${name}`;
      if (!entry(p, counts)) return;
      const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
      for (const n of fs.readdirSync(`/proc/self/fd/${fd}`)) visit(fd, n);
      fs.closeSync(fd);
    };
    const top = fs.openSync(`${root}/..`, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    visit(top, root.slice(root.lastIndexOf('/') + 1));
    return counts;
  },
};

if (process.argv[2] === '--child') {
  const [, , , bundle, root, mode, conc] = process.argv;
  const t0 = performance.now();
  let r;
  if (mode === 'chown') execFileSync('chown', ['-hR', `--from=${OLD}:${OLD}`, `${NEW}:${NEW}`, root]);
  else if (mode in loops) r = loops[mode](root);
  else {
    const m = await import(bundle);
    const tuning = mode === 'pool' ? { chowns: 'pool', inFlight: Number(conc) } : { chowns: mode };
    r = await m.reownTreesTuned({ roots: [root], from: { uid: OLD, gid: OLD }, to: { uid: NEW, gid: NEW } }, {}, tuning);
  }
  const ms = performance.now() - t0;
  if (mode === 'chown') {
    const n = Number(execFileSync('sh', ['-c', `find "$0" -uid ${NEW} -gid ${NEW} | wc -l`, root]));
    r = { scanned: n, changed: n };
  }
  console.log(JSON.stringify({ ms, scanned: r.scanned, changed: r.changed, errors: r.errors?.length ?? 0 }));
  process.exit(0);
}

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const files = Number(args[0] ?? 100000);
const reps = Number(args[1] ?? 3);
const cold = process.argv.includes('--cold');
const overlay = process.argv.includes('--overlay');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');
mkdirSync(work, { recursive: true });
const bundle = `${work}reown-variants.mjs`;
await build({ entryPoints: [`${here}../../src/remap/reown.ts`], outfile: bundle, bundle: true, platform: 'node', format: 'esm', logLevel: 'warning' });
const base = '/var/tmp/stepdown-bench-variants';
const lower = `${base}/lower`;
const bigEvery = Number(process.argv.find((a) => a.startsWith('--big-every='))?.slice(12) ?? 0);
const entries = buildTree(lower, files, { uid: OLD, gid: OLD, bigEvery });

function runChild(mode, conc, pool) {
  const node = [process.execPath, fileURLToPath(import.meta.url), '--child', bundle];
  const env = { ...process.env, UV_THREADPOOL_SIZE: String(pool) };
  const tail = [mode, String(conc)];
  let out;
  if (!overlay) {
    setOwner(lower, OLD, OLD);
    if (cold) execFileSync('sh', ['-c', 'sync; echo 3 > /proc/sys/vm/drop_caches']);
    out = execFileSync(node[0], [...node.slice(1), lower, ...tail], { env });
  } else {
    rmSync(`${base}/upper`, { recursive: true, force: true });
    rmSync(`${base}/ovl`, { recursive: true, force: true });
    for (const d of ['upper', 'ovlwork', 'merged']) mkdirSync(`${base}/${d}`, { recursive: true });
    setOwner(`${base}/upper`, OLD, OLD); // the merged root takes the upper root's owner
    if (cold) execFileSync('sh', ['-c', 'sync; echo 3 > /proc/sys/vm/drop_caches']);
    const script = `mount -t overlay overlay -o lowerdir=${lower},upperdir=${base}/upper,workdir=${base}/ovlwork ${base}/merged && exec "$@"`;
    out = execFileSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', ...node, `${base}/merged`, ...tail], { env });
  }
  return JSON.parse(out.toString());
}
// A configuration is 'loop' (the yardstick), 'sync', 'auto', or pooled IN_FLIGHTxTHREADS, e.g. 64x4.
const names = only ?? ['chown', 'loop', 'chdir-loop', 'procfd-loop', 'sync', 'auto', '16x4', '64x2', '64x4', '256x4'];
const chosen = names.map((n) => {
  if (n in loops || n === 'sync' || n === 'auto' || n === 'chown') return { n, mode: n, conc: 0, pool: 4 };
  const m = /^(\d+)x(\d+)$/.exec(n);
  if (!m) throw new Error(`bad configuration ${n}`);
  return { n, mode: 'pool', conc: +m[1], pool: +m[2] };
});
console.log(`${entries} entries, ${reps} reps interleaved, ${cold ? 'cold' : 'warm'} cache, ${overlay ? 'overlayfs' : 'plain fs'}${bigEvery ? `, every ${bigEvery}th file 1 MiB` : ''}\n`);
const times = chosen.map(() => []);
for (let i = 0; i < reps; i++) {
  chosen.forEach(({ mode, conc, pool }, k) => {
    const r = runChild(mode, conc, pool);
    if (r.scanned !== entries || r.changed !== entries) throw new Error(`bad counts ${JSON.stringify(r)}`);
    times[k].push(r.ms / 1000);
  });
}
console.log('| engine | in flight | UV_THREADPOOL_SIZE | median s | runs |\n|---|---|---|---|---|');
chosen.forEach(({ mode, conc, pool }, k) => {
  const t = times[k];
  const med = [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)];
  const cols = mode === 'pool' ? [conc, pool] : ['-', mode in loops || mode === 'chown' ? '-' : pool];
  const engine = { sync: 'reownTrees sync', auto: 'reownTrees auto', pool: 'reownTrees pooled', chown: 'chown -hR --from' }[mode] ?? `${mode} (bare)`;
  console.log(`| ${engine} | ${cols.join(' | ')} | ${med.toFixed(3)} | ${t.map((x) => x.toFixed(2)).join(' ')} |`);
});
rmSync(base, { recursive: true, force: true });
