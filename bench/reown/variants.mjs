// Which way of walking and chowning re-owns a 100k-file tree fastest? reownTrees synchronous (the
// walk in time slices), pooled (chowns through libuv's threadpool: how many in flight and on how
// many threads), or auto (what reownTrees picks), against three bare synchronous loops (no time
// slices, no checks) that differ only in how they name an entry: 'loop' by its full path,
// 'chdir-loop' by its name after chdir into its directory (what reownTrees does), 'procfd-loop'
// as /proc/self/fd/<directory fd>/<name> (what pooled chowns use), and `chown -hR --from`. Two more bare
// loops measure parallelism inside a directory while the cwd stays put (names relative to it, valid
// because the cwd moves only once every call for the directory has returned): 'dir-pool-loop'
// lstats and lchowns a directory's entries through libuv's threadpool, then recurses;
// 'worker-loop' hands half of each directory's names to a worker thread (through a
// SharedArrayBuffer, Atomics.wait/notify) and does the other half itself; 'worker-spin-loop' does
// the same but spins up to 20,000 Atomics.load polls before sleeping. Each configuration runs in its
// own process (UV_THREADPOOL_SIZE is read at the first threadpool use). With --overlay the tree is
// the lower layer of an overlayfs (as image files are in a container: every chown copies the file
// up), mounted in a private mount namespace. Prints a markdown table.
//   node bench/reown/variants.mjs [files=100000] [reps=3] [--overlay] [--cold] [--big-every=N]
//   [--only=chown,loop,chdir-loop,procfd-loop,dir-pool-loop,worker-loop,worker-spin-loop,sync,auto,64x4,...]
//   (N: every Nth file is 1 MiB; see `names` below; a name prefixed 1c- runs on one core: taskset -c 0)
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, workerData } from 'node:worker_threads';
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

// Starts in the cwd's parent and visits `root` by name: chdir in, list, lstat+lchown every entry
// (however `dir` does it; it calls back with the subdirectories), recurse, chdir back.
async function chdirWalk(root, counts, dir) {
  const visit = async (name) => {
    process.chdir(name);
    const subs = await new Promise((resolve) => dir(fs.readdirSync('.'), resolve));
    for (const s of subs) await visit(s);
    process.chdir('..');
  };
  const cwd = process.cwd();
  const top = root.slice(root.lastIndexOf('/') + 1);
  process.chdir(`${root}/..`);
  entry(top, counts);
  await visit(top);
  process.chdir(cwd);
  return counts;
}
loops['dir-pool-loop'] = (root) => {
  const counts = { scanned: 0, changed: 0 };
  return chdirWalk(root, counts, (names, done) => {
    const subs = [];
    let left = names.length + 1;
    const fin = () => --left === 0 && done(subs);
    for (const n of names) {
      fs.lstat(n, (err, st) => {
        if (err) throw err;
        counts.scanned++;
        if (st.isDirectory()) subs.push(n);
        if (st.uid !== OLD && st.gid !== OLD) return fin();
        fs.lchown(n, NEW, NEW, (e) => {
          if (e) throw e;
          counts.changed++;
          fin();
        });
      });
    }
    fin();
  });
};
// The worker shares the process's cwd (threads cannot have their own); ctrl[0]: 0 idle, 1 work, 2 stop.
const SPINS = 20_000;
function workerLoop(spin) {
  return async (root) => {
    const counts = { scanned: 0, changed: 0 };
    const ctrl = new Int32Array(new SharedArrayBuffer(8));
    const names = Buffer.from(new SharedArrayBuffer(1 << 20));
    const out = new Uint8Array(new SharedArrayBuffer(1 << 16));
    const w = new Worker(fileURLToPath(import.meta.url), { workerData: { ctrl, names: names.buffer, out, spin } });
    const wait = (v) => {
      for (let k = 0; spin && k < SPINS && Atomics.load(ctrl, 0) === v; k++);
      Atomics.wait(ctrl, 0, v);
    };
    await chdirWalk(root, counts, (list, done) => {
      const half = list.length >= 8 ? list.length >> 1 : 0;
      if (half) {
        let p = 0;
        for (let i = 0; i < half; i++) (p += names.write(list[i], p)), (names[p++] = 0);
        ctrl[1] = half;
        Atomics.store(ctrl, 0, 1);
        Atomics.notify(ctrl, 0);
      }
      const subs = [];
      for (let i = half; i < list.length; i++) if (entry(list[i], counts)) subs.push(list[i]);
      if (half) {
        wait(1);
        for (let i = 0; i < half; i++) {
          counts.scanned++;
          if (out[i] & 2) counts.changed++;
          if (out[i] & 1) subs.push(list[i]);
        }
      }
      done(subs);
    });
    Atomics.store(ctrl, 0, 2);
    Atomics.notify(ctrl, 0);
    await new Promise((resolve) => w.on('exit', resolve));
    return counts;
  };
}
loops['worker-loop'] = workerLoop(false);
loops['worker-spin-loop'] = workerLoop(true);
if (!isMainThread) {
  const { ctrl, out, spin } = workerData;
  const names = Buffer.from(workerData.names);
  for (;;) {
    for (let k = 0; spin && k < SPINS && Atomics.load(ctrl, 0) === 0; k++);
    Atomics.wait(ctrl, 0, 0);
    if (Atomics.load(ctrl, 0) === 2) break;
    for (let i = 0, p = 0; i < ctrl[1]; i++) {
      const e = names.indexOf(0, p);
      const counts = { scanned: 0, changed: 0 };
      out[i] = (entry(names.toString('utf8', p, e), counts) ? 1 : 0) | (counts.changed ? 2 : 0);
      p = e + 1;
    }
    Atomics.store(ctrl, 0, 0);
    Atomics.notify(ctrl, 0);
  }
  process.exit(0); // ends this worker thread only: the rest of the file is the main thread's
} else if (process.argv[2] === '--child') {
  const [, , , bundle, root, mode, conc] = process.argv;
  const t0 = performance.now();
  let r;
  if (mode === 'chown') execFileSync('chown', ['-hR', `--from=${OLD}:${OLD}`, `${NEW}:${NEW}`, root]);
  else if (mode in loops) r = await loops[mode](root);
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

function runChild(mode, conc, pool, oneCore) {
  const node = [...(oneCore ? ['taskset', '-c', '0'] : []), process.execPath, fileURLToPath(import.meta.url), '--child', bundle];
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
const chosen = names.map((given) => {
  const oneCore = given.startsWith('1c-');
  const n = oneCore ? given.slice(3) : given;
  if (n in loops || n === 'sync' || n === 'auto' || n === 'chown') return { n, mode: n, conc: 0, pool: 4, oneCore };
  const m = /^(\d+)x(\d+)$/.exec(n);
  if (!m) throw new Error(`bad configuration ${n}`);
  return { n, mode: 'pool', conc: +m[1], pool: +m[2], oneCore };
});
console.log(`${entries} entries, ${reps} reps interleaved, ${cold ? 'cold' : 'warm'} cache, ${overlay ? 'overlayfs' : 'plain fs'}${bigEvery ? `, every ${bigEvery}th file 1 MiB` : ''}\n`);
const times = chosen.map(() => []);
for (let i = 0; i < reps; i++) {
  chosen.forEach(({ mode, conc, pool, oneCore }, k) => {
    const r = runChild(mode, conc, pool, oneCore);
    if (r.scanned !== entries || r.changed !== entries) throw new Error(`bad counts ${JSON.stringify(r)}`);
    times[k].push(r.ms / 1000);
  });
}
console.log('| engine | in flight | UV_THREADPOOL_SIZE | median s | runs |\n|---|---|---|---|---|');
chosen.forEach(({ mode, conc, pool, oneCore }, k) => {
  const t = times[k];
  const med = [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)];
  const cols = mode === 'pool' ? [conc, pool] : ['-', mode in loops || mode === 'chown' ? '-' : pool];
  const engine = { sync: 'reownTrees sync', auto: 'reownTrees auto', pool: 'reownTrees pooled', chown: 'chown -hR --from' }[mode] ?? `${mode} (bare)`;
  console.log(`| ${engine}${oneCore ? ', one core' : ''} | ${cols.join(' | ')} | ${med.toFixed(3)} | ${t.map((x) => x.toFixed(2)).join(' ')} |`);
});
rmSync(base, { recursive: true, force: true });
