// reownTrees against real trees, as root. Mounts are made inside `unshare --mount` children so
// nothing reaches the host's mount table; those children run an esbuild bundle of src/remap/reown.ts.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReownRequest, type ReownResult, type ReownTuning, reownTrees, reownTreesTuned } from '../../src/remap/reown.js';
import { IS_ROOT, type Subject, stepdown, subjects, tempDir } from '../helpers/harness.js';

const OLD_U = 45201, OLD_G = 45202, NEW_U = 45203, NEW_G = 45204, OTHER_U = 45205, OTHER_G = 45206;
const REQ = { from: { uid: OLD_U, gid: OLD_G }, to: { uid: NEW_U, gid: NEW_G } };

let tmp: string;
let bundle: string;

beforeAll(async () => {
  expect(process.getuid?.(), 'these tests must run as root').toBe(0);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stepdown-reown-'));
  bundle = path.join(tmp, 'reown.mjs');
  await build({
    entryPoints: [path.resolve(__dirname, '../../src/remap/reown.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    logLevel: 'warning',
  });
  // Runs one reownTrees call from argv JSON and reports the result plus lstat of chosen paths
  // (mounted ones vanish with the namespace) and whether fd 1 was left O_NONBLOCK.
  fs.writeFileSync(
    path.join(tmp, 'child.mjs'),
    `import * as fs from 'node:fs';
const { reownTreesTuned } = await import(${JSON.stringify(bundle)});
const { req, opts, stat, tuning = {} } = JSON.parse(process.argv[2]);
const cwd = process.cwd();
const result = await reownTreesTuned(req, opts, tuning);
if (process.cwd() !== cwd) throw new Error('cwd changed');
const flags = fs.existsSync('/proc/self') ? /flags:\\s*(\\d+)/.exec(fs.readFileSync('/proc/self/fdinfo/1', 'utf8'))[1] : '0';
const stats = Object.fromEntries(stat.map((p) => { const s = fs.lstatSync(p); return [p, [s.uid, s.gid, s.mode & 0o7777]]; }));
fs.writeSync(1, JSON.stringify({ result, stats, nonblock: (parseInt(flags, 8) & fs.constants.O_NONBLOCK) !== 0 }));
`,
  );
});

afterAll(() => {
  if (tmp) execFileSync('rm', ['-rf', tmp]); // rm -rf handles trees deeper than PATH_MAX; fs.rmSync does not
});

let n = 0;
function freshDir(): string {
  const d = path.join(tmp, `t${n++}`);
  fs.mkdirSync(d);
  return d;
}
function mkdir(p: string, uid: number, gid: number, mode = 0o755): string {
  fs.mkdirSync(p);
  fs.lchownSync(p, uid, gid);
  fs.chmodSync(p, mode);
  return p;
}
function mkfile(p: string | Buffer, uid: number, gid: number, mode = 0o644): string | Buffer {
  fs.writeFileSync(p, 'x');
  fs.lchownSync(p, uid, gid);
  fs.chmodSync(p, mode); // after chown, which would clear set-id bits
  return p;
}
function owner(p: string | Buffer): [number, number] {
  const s = fs.lstatSync(p);
  return [s.uid, s.gid];
}
function mode(p: string): number {
  return fs.lstatSync(p).mode & 0o7777;
}

/** Runs src/remap/reown.ts in a child, optionally after a shell prelude (mounts) in a private mount ns. */
function child(
  prelude: string | undefined,
  req: ReownRequest,
  opts: object,
  stat: string[],
  tuning: ReownTuning = {},
): { result: ReownResult; stats: Record<string, [number, number, number]>; nonblock: boolean } {
  const arg = JSON.stringify({ req, opts, stat, tuning });
  const node = [process.execPath, path.join(tmp, 'child.mjs'), arg];
  const out = prelude
    ? execFileSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-euc', `${prelude}\nexec "$@"`, 'sh', ...node])
    : execFileSync(node[0]!, node.slice(1));
  return JSON.parse(out.toString());
}

/** `files` files in nested directories (12 files, 8 subdirectories each); returns entry count. */
function bigTree(root: string, files: number, uid: number, gid: number): number {
  fs.mkdirSync(root);
  let entries = 1;
  let made = 0;
  const queue = [root];
  for (let q = 0; made < files; q++) {
    const dir = queue[q]!;
    for (let f = 0; f < 12 && made < files; f++, made++, entries++) fs.writeFileSync(`${dir}/f${f}`, '');
    for (let d = 0; d < 8 && (queue.length - q - 1) * 12 < files - made; d++, entries++) {
      fs.mkdirSync(`${dir}/d${d}`);
      queue.push(`${dir}/d${d}`);
    }
  }
  execFileSync('chown', ['-hR', `${uid}:${gid}`, root]);
  return entries;
}
/**
 * A chain of `levels` directories with 200-byte names under `root` (so full paths run past
 * PATH_MAX), and at the bottom two files, a setuid and a setgid file, a symlink and a directory
 * with a file, all uid:gid. Built in a child process by relative steps: no full path reaches that
 * deep. Returns the number of entries, the root included.
 */
function deepTree(root: string, levels: number, uid: number, gid: number): number {
  const script = `const fs = require('fs');
const [root, levels, uid, gid] = process.argv.slice(1).map((a, i) => (i ? Number(a) : a));
const own = (p, m) => { fs.lchownSync(p, uid, gid); if (m) fs.chmodSync(p, m); };
fs.mkdirSync(root); own(root); process.chdir(root);
const d = 'd'.repeat(200);
for (let i = 0; i < levels; i++) { fs.mkdirSync(d); own(d); process.chdir(d); }
for (const f of ['f1', 'f2', 'suid', 'sgid', 'leaf-file']) { fs.writeFileSync(f, 'x'); own(f); }
own('suid', 0o4755); own('sgid', 0o2750);
fs.symlinkSync('f1', 'link'); own('link');
fs.mkdirSync('leaf'); own('leaf'); fs.renameSync('leaf-file', 'leaf/g');`;
  execFileSync(process.execPath, ['-e', script, root, String(levels), String(uid), String(gid)]);
  return 1 + levels + 7;
}
/** `find` output for the entries named `name` under root: "mode uid:gid" lines. */
function findNamed(root: string, name: string): string {
  return execFileSync('find', [root, '-name', name, '-printf', '%m %U:%G\\n']).toString();
}
function here(): [string, number] {
  return [process.cwd(), fs.statSync('.').ino];
}
function countOwned(root: string, args: string[]): number {
  return Number(execFileSync('sh', ['-c', `find "$0" ${args.join(' ')} | wc -l`, root]).toString().trim());
}

describe('ownership rules', () => {
  it('re-owns uid and gid independently; leaves other owners alone', async () => {
    const root = mkdir(path.join(freshDir(), 'home'), OLD_U, OLD_G);
    const both = mkfile(`${root}/both`, OLD_U, OLD_G) as string;
    const uidOnly = mkfile(`${root}/uid-only`, OLD_U, OTHER_G) as string;
    const gidOnly = mkfile(`${root}/gid-only`, OTHER_U, OLD_G) as string;
    const neither = mkfile(`${root}/neither`, OTHER_U, OTHER_G) as string;
    const foreignDir = mkdir(`${root}/foreign`, OTHER_U, OTHER_G);
    const nested = mkfile(`${foreignDir}/nested`, OLD_U, OLD_G) as string;
    const r = await reownTrees({ roots: [root], ...REQ });
    expect(owner(root)).toEqual([NEW_U, NEW_G]);
    expect(owner(both)).toEqual([NEW_U, NEW_G]);
    expect(owner(uidOnly)).toEqual([NEW_U, OTHER_G]);
    expect(owner(gidOnly)).toEqual([OTHER_U, NEW_G]);
    expect(owner(neither)).toEqual([OTHER_U, OTHER_G]);
    expect(owner(foreignDir)).toEqual([OTHER_U, OTHER_G]);
    expect(owner(nested)).toEqual([NEW_U, NEW_G]); // a foreign directory is still descended
    expect(r.errors).toEqual([]);
    expect(r.scanned).toBe(7);
    expect(r.changed).toBe(5);
    expect(r.seconds).toBeGreaterThanOrEqual(0);
  });

  it('keeps the uid when from.uid === to.uid, and the gid when from.gid === to.gid', async () => {
    const root = mkdir(path.join(freshDir(), 'home'), OLD_U, OLD_G);
    const f = mkfile(`${root}/f`, OLD_U, OLD_G) as string;
    await reownTrees({ roots: [root], from: { uid: OLD_U, gid: OLD_G }, to: { uid: OLD_U, gid: NEW_G } });
    expect(owner(f)).toEqual([OLD_U, NEW_G]);
    await reownTrees({ roots: [root], from: { uid: OLD_U, gid: NEW_G }, to: { uid: NEW_U, gid: NEW_G } });
    expect(owner(f)).toEqual([NEW_U, NEW_G]);
    expect(owner(root)).toEqual([NEW_U, NEW_G]);
  });

  it('walks every root, skips a missing one silently, does nothing when from equals to', async () => {
    const base = freshDir();
    const a = mkdir(`${base}/a`, OLD_U, OLD_G);
    const b = mkdir(`${base}/b`, OLD_U, OLD_G);
    const r = await reownTrees({ roots: [`${base}/missing`, a, `${base}/missing/deeper`, b], ...REQ });
    expect(r.errors).toEqual([]);
    expect(r.scanned).toBe(2);
    expect([owner(a), owner(b)]).toEqual([[NEW_U, NEW_G], [NEW_U, NEW_G]]);
    const same = await reownTrees({ roots: [a], from: REQ.to, to: REQ.to });
    expect(same).toMatchObject({ scanned: 0, changed: 0, errors: [] });
  });

  it('refuses the filesystem root however it is spelled', async () => {
    for (const r of ['/', '/tmp/..', '//', '/./']) {
      await expect(reownTrees({ roots: [r], ...REQ })).rejects.toThrow(/refusing/);
    }
    await expect(reownTrees({ roots: [tmp], from: { uid: -1, gid: 1 }, to: REQ.to })).rejects.toThrow(RangeError);
  });

  it('handles names with spaces, newlines and bytes that are not UTF-8', async () => {
    const root = mkdir(path.join(freshDir(), 'home'), OLD_U, OLD_G);
    const dir = mkdir(`${root}/a dir\nwith newline`, OLD_U, OLD_G);
    const f = mkfile(`${dir}/ space \n file `, OLD_U, OLD_G) as string;
    const latin1Dir = Buffer.concat([Buffer.from(`${root}/caf`), Buffer.from([0xe9])]);
    fs.mkdirSync(latin1Dir);
    fs.lchownSync(latin1Dir, OLD_U, OLD_G);
    const inside = mkfile(Buffer.concat([latin1Dir, Buffer.from('/\xff\xfe', 'latin1')]), OLD_U, OLD_G);
    const r = await reownTrees({ roots: [root], ...REQ });
    expect(r.errors).toEqual([]);
    expect([owner(dir), owner(f), owner(latin1Dir), owner(inside)]).toEqual(Array(4).fill([NEW_U, NEW_G]));
    expect(r.changed).toBe(5);
  });
});

describe('hostile trees', () => {
  it('re-owns a symlink itself, never its target, and never descends through it', async () => {
    const base = freshDir();
    const outsideFile = mkfile(`${base}/outside-file`, OLD_U, OLD_G) as string;
    const outsideDir = mkdir(`${base}/outside-dir`, OLD_U, OLD_G);
    const outsideInner = mkfile(`${outsideDir}/inner`, OLD_U, OLD_G) as string;
    const root = mkdir(`${base}/home`, OLD_U, OLD_G);
    fs.symlinkSync(outsideFile, `${root}/to-file`);
    fs.lchownSync(`${root}/to-file`, OLD_U, OLD_G);
    fs.symlinkSync(outsideDir, `${root}/to-dir`);
    fs.lchownSync(`${root}/to-dir`, OLD_U, OLD_G);
    fs.symlinkSync('/nonexistent/dangling', `${root}/dangling`);
    fs.lchownSync(`${root}/dangling`, OLD_U, OLD_G);
    const r = await reownTrees({ roots: [root], ...REQ });
    expect(r.errors).toEqual([]);
    for (const l of ['to-file', 'to-dir', 'dangling']) expect(owner(`${root}/${l}`)).toEqual([NEW_U, NEW_G]);
    expect([owner(outsideFile), owner(outsideDir), owner(outsideInner)]).toEqual(Array(3).fill([OLD_U, OLD_G]));
  });

  it('re-owns a root that is a symlink without following it', async () => {
    const base = freshDir();
    const real = mkdir(`${base}/real`, OLD_U, OLD_G);
    const inner = mkfile(`${real}/f`, OLD_U, OLD_G) as string;
    fs.symlinkSync(real, `${base}/link`);
    fs.lchownSync(`${base}/link`, OLD_U, OLD_G);
    await reownTrees({ roots: [`${base}/link`], ...REQ });
    expect(owner(`${base}/link`)).toEqual([NEW_U, NEW_G]);
    expect([owner(real), owner(inner)]).toEqual([[OLD_U, OLD_G], [OLD_U, OLD_G]]);
  });

  it('restores set-id bits that chown clears, and adds none', async () => {
    const root = mkdir(path.join(freshDir(), 'home'), OLD_U, OLD_G);
    const modes = { suid: 0o4755, sgid: 0o2755, both: 0o6755, 'sgid-noexec': 0o2644, plain: 0o755, sticky: 0o1755 };
    for (const [name, m] of Object.entries(modes)) mkfile(`${root}/${name}`, OLD_U, OLD_G, m);
    const uidOnly = mkfile(`${root}/suid-uid-only`, OLD_U, OTHER_G, 0o4750) as string;
    const setgidDir = mkdir(`${root}/setgid-dir`, OLD_U, OLD_G, 0o2775);
    // Control: the kernel does clear the bits on chown by root, so the checks below can fail.
    const control = mkfile(`${root}/../control`, OLD_U, OLD_G, 0o6755) as string;
    fs.lchownSync(control, NEW_U, NEW_G);
    expect(mode(control)).toBe(0o755);

    const r = await reownTrees({ roots: [root], ...REQ });
    expect(r.errors).toEqual([]);
    for (const [name, m] of Object.entries(modes)) {
      expect([name, mode(`${root}/${name}`), owner(`${root}/${name}`)]).toEqual([name, m, [NEW_U, NEW_G]]);
    }
    expect([mode(uidOnly), owner(uidOnly)]).toEqual([0o4750, [NEW_U, OTHER_G]]);
    expect([mode(setgidDir), owner(setgidDir)]).toEqual([0o2775, [NEW_U, NEW_G]]);
  });

  it('does not descend into a mount point given in `mounts`, nor re-own it; walks a root that is one', async () => {
    const root = mkdir(path.join(freshDir(), 'home'), OLD_U, OLD_G);
    const vol = mkdir(`${root}/vol`, OLD_U, OLD_G);
    const inVol = mkfile(`${vol}/f`, OLD_U, OLD_G) as string;
    const sibling = mkfile(`${root}/volume-ish`, OLD_U, OLD_G) as string; // prefix of no mount
    const r = await reownTrees({ roots: [root], ...REQ }, { mounts: [`${root}/vol`, root] });
    expect(r.errors).toEqual([]);
    expect([owner(root), owner(sibling)]).toEqual([[NEW_U, NEW_G], [NEW_U, NEW_G]]);
    expect([owner(vol), owner(inVol)]).toEqual([[OLD_U, OLD_G], [OLD_U, OLD_G]]);
    // Listing the volume as a root is how a caller asks for it.
    await reownTrees({ roots: [vol], ...REQ }, { mounts: [`${root}/vol`] });
    expect([owner(vol), owner(inVol)]).toEqual([[NEW_U, NEW_G], [NEW_U, NEW_G]]);
  });

  it('stays off real mounts: tmpfs, same-device bind mounts (names with spaces), file bind mounts', () => {
    const base = freshDir();
    const outside = mkdir(`${base}/outside dir`, OLD_U, OLD_G);
    const outsideFile = mkfile(`${outside}/f`, OLD_U, OLD_G) as string;
    const bindSourceFile = mkfile(`${base}/lone file`, OLD_U, OLD_G) as string;
    const root = mkdir(`${base}/home`, OLD_U, OLD_G);
    const bindPoint = mkdir(`${root}/bind\tpoint \\ here`, OLD_U, OLD_G);
    const tmpfsPoint = mkdir(`${root}/tmpfs`, OLD_U, OLD_G);
    const filePoint = mkfile(`${root}/mnt-file`, OLD_U, OLD_G) as string;
    const plain = mkfile(`${root}/plain`, OLD_U, OLD_G) as string;
    const q = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;
    const prelude = [
      `mount -t tmpfs tmpfs ${q(tmpfsPoint)}`,
      `touch ${q(tmpfsPoint)}/inside && chown ${OLD_U}:${OLD_G} ${q(tmpfsPoint)} ${q(tmpfsPoint)}/inside`,
      `mount --bind ${q(outside)} ${q(bindPoint)}`,
      `mount --bind ${q(bindSourceFile)} ${q(filePoint)}`,
    ].join('\n');
    const seen = [tmpfsPoint, `${tmpfsPoint}/inside`, bindPoint, `${bindPoint}/f`, filePoint];
    const { result, stats, nonblock } = child(prelude, { roots: [root], ...REQ }, {}, [...seen, plain]);
    expect(result.errors).toEqual([]);
    for (const p of seen) expect([p, stats[p]?.slice(0, 2)]).toEqual([p, [OLD_U, OLD_G]]);
    expect(stats[plain]?.slice(0, 2)).toEqual([NEW_U, NEW_G]);
    expect(result.scanned).toBe(2); // root and plain: nothing behind a mount point was examined
    expect(nonblock).toBe(false);
    // After the namespace is gone: the sources and the shadowed mount point directories.
    expect([outside, outsideFile, bindSourceFile].map(owner)).toEqual(Array(3).fill([OLD_U, OLD_G]));
    expect([bindPoint, tmpfsPoint, filePoint].map(owner)).toEqual(Array(3).fill([OLD_U, OLD_G]));
    expect(owner(root)).toEqual([NEW_U, NEW_G]);
  });

  it('stays off another filesystem by st_dev even when no mount list names it', () => {
    const root = mkdir(path.join(freshDir(), 'home'), OLD_U, OLD_G);
    const point = mkdir(`${root}/tmpfs`, OLD_U, OLD_G);
    const prelude = `mount -t tmpfs tmpfs '${point}'\ntouch '${point}/inside'\nchown ${OLD_U}:${OLD_G} '${point}' '${point}/inside'`;
    const { result, stats } = child(prelude, { roots: [root], ...REQ }, { mounts: [] }, [point, `${point}/inside`]);
    expect(result.errors).toEqual([]);
    expect([stats[point]?.slice(0, 2), stats[`${point}/inside`]?.slice(0, 2)]).toEqual([[OLD_U, OLD_G], [OLD_U, OLD_G]]);
    expect(owner(root)).toEqual([NEW_U, NEW_G]);
  });

  it('keeps every rule when chowns go through the threadpool (as on overlayfs)', async () => {
    const base = freshDir();
    const root = mkdir(`${base}/home`, OLD_U, OLD_G);
    const suid = mkfile(`${root}/suid`, OLD_U, OLD_G, 0o4755) as string;
    const sgid = mkfile(`${root}/sgid-uid-only`, OLD_U, OTHER_G, 0o2750) as string;
    const gidOnly = mkfile(`${root}/gid-only`, OTHER_U, OLD_G) as string;
    const neither = mkfile(`${root}/neither`, OTHER_U, OTHER_G) as string;
    const sub = mkdir(`${root}/sub`, OLD_U, OLD_G);
    const outside = mkfile(`${base}/outside`, OLD_U, OLD_G) as string;
    fs.symlinkSync(outside, `${sub}/link`);
    fs.lchownSync(`${sub}/link`, OLD_U, OLD_G);
    const r = await reownTreesTuned({ roots: [root], ...REQ }, {}, { chowns: 'pool', inFlight: 2 });
    expect(r.errors).toEqual([]);
    expect([r.scanned, r.changed]).toEqual([7, 6]);
    expect([owner(root), owner(sub), owner(`${sub}/link`), owner(suid)]).toEqual(Array(4).fill([NEW_U, NEW_G]));
    expect([mode(suid), mode(sgid), owner(sgid)]).toEqual([0o4755, 0o2750, [NEW_U, OTHER_G]]);
    expect([owner(gidOnly), owner(neither), owner(outside)]).toEqual([[OTHER_U, NEW_G], [OTHER_U, OTHER_G], [OLD_U, OLD_G]]);
  });

  it('re-owns a tree on overlayfs (every chown a copy-up), keeping set-id bits', () => {
    const base = freshDir();
    const lower = mkdir(`${base}/lower`, OLD_U, OLD_G);
    const home = mkdir(`${lower}/home`, OLD_U, OLD_G);
    mkfile(`${home}/suid`, OLD_U, OLD_G, 0o4755);
    mkfile(`${home}/big`, OLD_U, OTHER_G);
    fs.writeFileSync(`${home}/big`, Buffer.alloc(1 << 20));
    mkfile(`${home}/other`, OTHER_U, OTHER_G);
    const dir = mkdir(`${home}/dir`, OLD_U, OLD_G);
    for (let i = 0; i < 200; i++) mkfile(`${dir}/f${i}`, OLD_U, OLD_G);
    fs.symlinkSync('f0', `${dir}/link`);
    fs.lchownSync(`${dir}/link`, OLD_U, OLD_G);
    for (const d of ['upper', 'work', 'merged']) fs.mkdirSync(`${base}/${d}`);
    const m = `${base}/merged/home`;
    const prelude = `mount -t overlay overlay -o lowerdir=${lower},upperdir=${base}/upper,workdir=${base}/work ${base}/merged`;
    const seen = [m, `${m}/suid`, `${m}/big`, `${m}/other`, `${m}/dir`, `${m}/dir/f199`, `${m}/dir/link`];
    const { result, stats } = child(prelude, { roots: [m], ...REQ }, {}, seen);
    expect(result.errors).toEqual([]);
    expect([result.scanned, result.changed]).toEqual([206, 205]);
    expect(seen.map((p) => stats[p])).toEqual([
      [NEW_U, NEW_G, 0o755],
      [NEW_U, NEW_G, 0o4755],
      [NEW_U, OTHER_G, 0o644],
      [OTHER_U, OTHER_G, 0o644],
      [NEW_U, NEW_G, 0o755],
      [NEW_U, NEW_G, 0o644],
      [NEW_U, NEW_G, 0o777],
    ]);
    expect(owner(`${home}/suid`)).toEqual([OLD_U, OLD_G]); // the lower layer is untouched
  });

  it('re-owns the files of an overlay whose upper layer is on another file system (files report the lower layer\'s st_dev)', () => {
    const base = freshDir();
    const lower = mkdir(`${base}/lower`, OLD_U, OLD_G);
    const home = mkdir(`${lower}/home`, OLD_U, OLD_G);
    mkfile(`${home}/file`, OLD_U, OLD_G);
    const dir = mkdir(`${home}/dir`, OLD_U, OLD_G);
    mkfile(`${dir}/inner`, OLD_U, OLD_G);
    fs.symlinkSync('inner', `${dir}/link`);
    fs.lchownSync(`${dir}/link`, OLD_U, OLD_G);
    for (const d of ['up', 'merged']) fs.mkdirSync(`${base}/${d}`);
    const m = `${base}/merged/home`;
    const prelude = [
      `mount -t tmpfs stepdown-test ${base}/up`,
      `mkdir ${base}/up/upper ${base}/up/work`,
      `mount -t overlay overlay -o lowerdir=${lower},upperdir=${base}/up/upper,workdir=${base}/up/work ${base}/merged`,
      `test "$(stat -c %d ${m}/file)" != "$(stat -c %d ${m})"`, // the premise: the file reports another st_dev
    ].join('\n');
    const seen = [m, `${m}/file`, `${m}/dir`, `${m}/dir/inner`, `${m}/dir/link`];
    const { result, stats } = child(prelude, { roots: [m], ...REQ }, {}, seen);
    expect(result.errors).toEqual([]);
    expect([result.scanned, result.changed]).toEqual([5, 5]);
    expect(seen.map((p) => stats[p]!.slice(0, 2))).toEqual(Array(5).fill([NEW_U, NEW_G]));
  });

  it('handles a mode 000 directory as root, and keeps its mode', async () => {
    const root = mkdir(path.join(freshDir(), 'home'), OLD_U, OLD_G);
    const locked = mkdir(`${root}/locked`, OLD_U, OLD_G);
    const inside = mkfile(`${locked}/f`, OLD_U, OLD_G) as string;
    fs.chmodSync(locked, 0o000);
    const r = await reownTrees({ roots: [root], ...REQ });
    expect(r.errors).toEqual([]);
    expect([owner(locked), owner(inside), mode(locked)]).toEqual([[NEW_U, NEW_G], [NEW_U, NEW_G], 0o000]);
  });

  it('reports an unreadable directory and carries on (root without CAP_DAC_OVERRIDE)', () => {
    const root = mkdir(path.join(freshDir(), 'home'), OLD_U, OLD_G);
    const locked = mkdir(`${root}/locked`, OTHER_U, OTHER_G, 0o000);
    const inside = mkfile(`${locked}/f`, OLD_U, OLD_G) as string;
    const after = mkdir(`${root}/zzz`, OLD_U, OLD_G);
    const afterFile = mkfile(`${after}/f`, OLD_U, OLD_G) as string;
    const caps = '-dac_override,-dac_read_search';
    const arg = JSON.stringify({ req: { roots: [root], ...REQ }, opts: {}, stat: [] });
    const out = execFileSync('setpriv', [`--bounding-set=${caps}`, `--inh-caps=${caps}`, process.execPath, path.join(tmp, 'child.mjs'), arg]);
    const { result } = JSON.parse(out.toString()) as { result: ReownResult };
    expect(result.errors).toEqual([{ path: locked, message: 'chdir: permission denied (EACCES)' }]);
    expect(owner(inside)).toEqual([OLD_U, OLD_G]);
    expect([owner(root), owner(after), owner(afterFile)]).toEqual(Array(3).fill([NEW_U, NEW_G]));
  });
});

describe('trees deeper than PATH_MAX', () => {
  it('re-owns every entry, keeps set-id bits, and leaves the cwd as it was', async () => {
    const root = path.join(freshDir(), 'deep');
    const entries = deepTree(root, 30, OLD_U, OLD_G);
    expect(execFileSync('find', [root, '-name', 'g']).length).toBeGreaterThan(4096); // really past PATH_MAX
    const before = here();
    for (const chowns of ['sync', 'pool'] as const) {
      const [from, to] = chowns === 'sync' ? [REQ.from, REQ.to] : [REQ.to, REQ.from];
      const r = await reownTreesTuned({ roots: [root], from, to }, {}, { chowns });
      expect(r.errors).toEqual([]);
      expect([r.scanned, r.changed]).toEqual([entries, entries]);
      expect(countOwned(root, [`-uid ${to.uid}`, `-gid ${to.gid}`])).toBe(entries);
      expect(findNamed(root, 'suid') + findNamed(root, 'sgid')).toBe(`4755 ${to.uid}:${to.gid}\n2750 ${to.uid}:${to.gid}\n`);
      expect(here()).toEqual(before);
    }
  });

  it('gives every timer, signal handler and onProgress the caller\'s cwd, and puts it back after an abort or a throw', async () => {
    const root = path.join(freshDir(), 'deep');
    const entries = deepTree(root, 30, OLD_U, OLD_G);
    const start = process.cwd();
    const cwdDir = mkdir(`${path.dirname(root)}/cwd`, 0, 0);
    try {
      process.chdir(cwdDir);
      const before = here();
      const seen = new Set<string>();
      const timer = setInterval(() => seen.add(JSON.stringify(here())), 0);
      const ac = new AbortController();
      let calls = 0;
      const onProgress = (): void => {
        seen.add(JSON.stringify(here()));
        if (++calls === 20) ac.abort(new Error('SIGTERM'));
      };
      // sliceMs 0: the event loop turns after every entry, 20 turns are deep inside the tree.
      const err = await reownTreesTuned({ roots: [root], ...REQ }, { signal: ac.signal, progressEveryMs: 0, onProgress }, { sliceMs: 0 }).then(
        () => undefined,
        (e: unknown) => e as Error & { partial: ReownResult },
      );
      clearInterval(timer);
      expect(err?.name).toBe('AbortError');
      expect(err!.partial.changed).toBeGreaterThan(0);
      expect(err!.partial.changed).toBeLessThan(entries);
      expect(countOwned(root, [`-uid ${NEW_U}`])).toBe(err!.partial.changed);
      expect([...seen]).toEqual([JSON.stringify(before)]);
      expect(here()).toEqual(before);

      const boom = new Error('boom');
      const thrown = reownTreesTuned({ roots: [root], ...REQ }, { progressEveryMs: 0, onProgress: () => { throw boom; } }, { sliceMs: 0 });
      await expect(thrown).rejects.toBe(boom);
      expect(here()).toEqual(before);

      // The caller's cwd renamed during the walk: the walk finishes and puts the process back in
      // the same directory, wherever it now is.
      let renamed = false;
      const onRename = (): void => {
        if (!renamed) fs.renameSync(cwdDir, `${cwdDir}-renamed`);
        renamed = true;
      };
      const r = await reownTreesTuned({ roots: [root], ...REQ }, { progressEveryMs: 0, onProgress: onRename }, { sliceMs: 0 });
      expect(r.errors).toEqual([]);
      expect(countOwned(root, [`-uid ${NEW_U}`, `-gid ${NEW_G}`])).toBe(entries);
      expect(here()).toEqual([`${cwdDir}-renamed`, before[1]]);
    } finally {
      process.chdir(start);
    }
  });

  it('works without /proc: chowns stay synchronous, pauses climb back by name, a directory whose name is not UTF-8 is reported', () => {
    const root = path.join(freshDir(), 'deep');
    const entries = deepTree(root, 30, OLD_U, OLD_G);
    const odd = Buffer.concat([Buffer.from(`${root}/caf`), Buffer.from([0xe9])]);
    fs.mkdirSync(odd);
    fs.lchownSync(odd, OLD_U, OLD_G);
    const inside = mkfile(Buffer.concat([odd, Buffer.from('/f')]), OLD_U, OLD_G);
    const { result } = child('umount -l /proc', { roots: [root], ...REQ }, {}, [], { chowns: 'pool', sliceMs: 0 });
    expect(result.errors).toEqual([{ path: odd.toString(), message: 'cannot enter a directory whose name is not UTF-8 without /proc' }]);
    expect([result.scanned, result.changed]).toEqual([entries + 1, entries + 1]);
    expect(countOwned(root, [`-uid ${NEW_U}`, `-gid ${NEW_G}`])).toBe(entries + 1);
    expect(owner(inside)).toEqual([OLD_U, OLD_G]);
  });

  it('does not follow a directory swapped for a symlink while it was being walked', async () => {
    const base = freshDir();
    const outside = mkdir(`${base}/outside`, OLD_U, OLD_G);
    const root = mkdir(`${base}/home`, OLD_U, OLD_G);
    const a = mkdir(`${root}/a`, OLD_U, OLD_G);
    const b = mkdir(`${a}/b`, OLD_U, OLD_G);
    // Entries are listed in byte order and taken from the end: b first, then a4 ... a0.
    for (let i = 0; i < 5; i++) {
      mkfile(`${outside}/a${i}`, OLD_U, OLD_G);
      mkfile(`${a}/a${i}`, OLD_U, OLD_G);
      mkfile(`${b}/f${i}`, OLD_U, OLD_G);
    }
    let swapped = false;
    const before = here();
    // Once the walk is inside b: b moves out of a, and a is replaced by a symlink to `outside`, so
    // neither `..` from b nor the name `a` lead back into a.
    const onProgress = (): void => {
      if (swapped || owner(b)[0] !== NEW_U) return;
      fs.renameSync(b, `${root}/b-moved`);
      fs.renameSync(a, `${root}/a-real`);
      fs.symlinkSync(outside, a);
      swapped = true;
    };
    const r = await reownTreesTuned({ roots: [root], ...REQ }, { progressEveryMs: 0, onProgress }, { sliceMs: 0 });
    expect(swapped).toBe(true);
    expect(r.errors).toEqual([{ path: a, message: 'moved during the walk; the rest of it was not re-owned' }]);
    for (let i = 0; i < 5; i++) {
      expect(owner(`${outside}/a${i}`)).toEqual([OLD_U, OLD_G]);
      expect(owner(`${root}/a-real/a${i}`)).toEqual([OLD_U, OLD_G]); // reported above
      expect(owner(`${root}/b-moved/f${i}`)).toEqual([NEW_U, NEW_G]);
    }
    expect(owner(outside)).toEqual([OLD_U, OLD_G]);
    expect(here()).toEqual(before);
  });
});

describe.skipIf(!IS_ROOT).each(subjects())('stepdown --match with a home deeper than PATH_MAX ($name)', (subject: Subject) => {
  it('re-owns every entry, writes /etc/passwd, and runs the command', () => {
    // Private /etc, /home and /root: the remap can reach nothing of the machine's.
    const dir = tempDir();
    try {
      for (const d of ['etc', 'home', 'root', 'vol']) fs.mkdirSync(`${dir}/${d}`);
      fs.chownSync(`${dir}/vol`, 4321, 4321);
      const passwd = 'root:x:0:0:root:/root:/bin/sh\nops:x:10001:10001::/home/ops:/bin/sh\n';
      fs.writeFileSync(`${dir}/etc/passwd`, passwd);
      fs.writeFileSync(`${dir}/etc/group`, 'root:x:0:\nops:x:10001:\n');
      const entries = deepTree(`${dir}/home/ops`, 30, 10001, 10001);
      const r = stepdown(subject, ['--match', `${dir}/vol`, 'ops', '--', 'sh', '-c', 'id -u; pwd'], {
        etcDir: `${dir}/etc`,
        setup: `mount --bind ${dir}/home /home && mount --bind ${dir}/root /root`,
        cwd: `${dir}/root`,
      });
      expect(r.stderr).toMatch(new RegExp(`^stepdown: ops is now uid 4321 gid 4321 \\(was 10001:10001\\); wrote /etc/group and /etc/passwd; re-owned ${entries} of ${entries} entries in /home/ops \\(\\d+\\.\\d s\\)\n$`));
      expect([r.status, r.stdout]).toEqual([0, `4321\n${dir}/root\n`]);
      expect(fs.readFileSync(`${dir}/etc/passwd`, 'utf8')).toBe(passwd.replace('ops:x:10001:10001:', 'ops:x:4321:4321:'));
      expect(countOwned(`${dir}/home/ops`, ['-uid 4321', '-gid 4321'])).toBe(entries);
      expect(findNamed(`${dir}/home/ops`, 'suid')).toBe('4755 4321:4321\n');
    } finally {
      execFileSync('rm', ['-rf', dir]);
    }
  });
});

describe('large trees', () => {
  let big: string;
  let bigEntries: number;
  beforeAll(() => {
    big = path.join(freshDir(), 'big');
    bigEntries = bigTree(big, 100_000, OLD_U, OLD_G);
  });

  it('re-owns a 100k-file tree with exact counts, reporting progress at most every progressEveryMs', async () => {
    const calls: { at: number; scanned: number; changed: number }[] = [];
    const r = await reownTrees(
      { roots: [big], ...REQ },
      { progressEveryMs: 50, onProgress: (p) => calls.push({ at: performance.now(), ...p }) },
    );
    expect(r.errors).toEqual([]);
    expect([r.scanned, r.changed]).toEqual([bigEntries, bigEntries]);
    expect(countOwned(big, [`-uid ${NEW_U}`, `-gid ${NEW_G}`])).toBe(bigEntries);
    expect(calls.length).toBeGreaterThan(0);
    for (let i = 1; i < calls.length; i++) {
      expect(calls[i]!.at - calls[i - 1]!.at).toBeGreaterThanOrEqual(49);
      expect(calls[i]!.scanned).toBeGreaterThanOrEqual(calls[i - 1]!.scanned);
    }
    expect(calls.at(-1)!.scanned).toBeLessThanOrEqual(bigEntries);
    const again = await reownTrees({ roots: [big], ...REQ });
    expect([again.scanned, again.changed]).toEqual([bigEntries, 0]);
  }, 120_000);

  it.each(['sync', 'pool'] as const)('stops within a second of an abort 100 ms into a 50k-file walk, with nothing left running (%s chowns)', async (chowns) => {
    const root = path.join(freshDir(), 'abort');
    const entries = bigTree(root, 50_000, OLD_U, OLD_G);
    const ac = new AbortController();
    let abortedAt = 0;
    setTimeout(() => {
      abortedAt = performance.now();
      ac.abort(new Error('SIGTERM'));
    }, 100);
    const err = await reownTreesTuned({ roots: [root], ...REQ }, { signal: ac.signal }, { chowns }).then(
      () => undefined,
      (e: unknown) => e as Error & { code: string; partial: ReownResult },
    );
    const stoppedAfter = performance.now() - abortedAt;
    expect(err?.name).toBe('AbortError');
    expect(err?.code).toBe('ABORT_ERR');
    expect((err?.cause as Error).message).toBe('SIGTERM');
    expect(stoppedAfter).toBeLessThan(1000);
    expect(err!.partial.scanned).toBeGreaterThan(0);
    expect(err!.partial.scanned).toBeLessThan(entries); // it really was interrupted
    await new Promise((r) => setTimeout(r, 200));
    // Exactly the counted entries were re-owned; nothing kept going after the rejection.
    expect(countOwned(root, [`-uid ${NEW_U}`])).toBe(err!.partial.changed);
  });

  it('rejects at once, changing nothing, when the signal is already aborted', async () => {
    const root = mkdir(path.join(freshDir(), 'home'), OLD_U, OLD_G);
    await expect(reownTrees({ roots: [root], ...REQ }, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(owner(root)).toEqual([OLD_U, OLD_G]);
  });

  it('stops and rejects with the error when onProgress throws', async () => {
    const boom = new Error('boom');
    await expect(
      reownTrees({ roots: [big], from: REQ.to, to: REQ.from }, { progressEveryMs: 0, onProgress: () => { throw boom; } }),
    ).rejects.toBe(boom);
  });
});
