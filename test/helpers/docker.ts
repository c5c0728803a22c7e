// A thin, time-bounded way to drive the real Docker engine that test/e2e/engine.sh starts.
// Every docker call runs under `timeout`: a hung engine or runtime fails a test, not CI.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const REPO = path.resolve(__dirname, '../..');
/** e2e tests run when STEPDOWN_E2E=1 (test/run-all.sh sets it after starting the engine). */
export const E2E = process.env.STEPDOWN_E2E === '1';

/** Runtimes the container tests run under: runc always; gVisor unless STEPDOWN_E2E_RUNSC=0. */
export const RUNTIMES = process.env.STEPDOWN_E2E_RUNSC === '0' ? ['runc'] : ['runc', 'runsc'];

export interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** command args under `timeout`: throws when the time runs out. */
export function bounded(command: string, args: string[], seconds: number): Result {
  const r = spawnSync('timeout', ['--kill-after=5', String(seconds), command, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status === 124 || r.status === 137) throw new Error(`${command} ${args.join(' ')}: timed out after ${seconds} s`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function docker(args: string[], seconds = 60): Result {
  return bounded('docker', args, seconds);
}

/** docker that must succeed; returns stdout. */
export function dockerOk(args: string[], seconds = 60): string {
  const r = docker(args, seconds);
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

export function requireEngine(): void {
  const r = spawnSync('timeout', ['20', 'docker', 'info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`STEPDOWN_E2E=1 but no Docker engine answers (DOCKER_HOST=${process.env.DOCKER_HOST}): ${r.stderr.trim()}`);
  const runtimes = dockerOk(['info', '--format', '{{json .Runtimes}}'], 20);
  for (const rt of RUNTIMES) if (!runtimes.includes(`"${rt}"`)) throw new Error(`the engine has no runtime ${rt} (set STEPDOWN_E2E_RUNSC=0 to skip gVisor)`);
}

/** A build context holding copies of the given files (name in context → source path). */
export function context(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stepdown-ctx-'));
  for (const [name, src] of Object.entries(files)) fs.copyFileSync(src, path.join(dir, name));
  return dir;
}

export function build(tag: string, dockerfile: string, files: Record<string, string>, seconds = 300, quiet = true): void {
  const dir = context({ Dockerfile: dockerfile, ...files });
  try {
    dockerOk(['build', ...(quiet ? ['-q'] : []), '-t', tag, dir], seconds);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The npm package as users get it (`npm pack`), in a temp dir; returns the tarball's path. */
export function npmPack(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stepdown-pack-'));
  const r = spawnSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: REPO, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm pack failed: ${r.stderr}`);
  return path.join(dir, r.stdout.trim().split('\n').pop()!);
}

export const SEA = path.join(REPO, 'dist/stepdown-linux-x64');
export const SUMS = path.join(REPO, 'dist/SHA256SUMS');

/** docker/node.Dockerfile: the npm package as `npm pack` makes it, and the example server. */
export function buildNodeImage(tag: string): void {
  const tgz = npmPack();
  try {
    build(tag, path.join(REPO, 'docker/node.Dockerfile'), {
      [path.basename(tgz)]: tgz,
      'server.js': path.join(REPO, 'examples/server/server.js'),
    });
  } finally {
    fs.rmSync(path.dirname(tgz), { recursive: true, force: true });
  }
}

/** Images built from the shipped Dockerfiles, once per test run (the builder caches layers). */
export function buildShippedImages(): void {
  const sea = { 'stepdown-linux-x64': SEA, SHA256SUMS: SUMS };
  build('stepdown-e2e/debian', path.join(REPO, 'docker/debian.Dockerfile'), sea);
  build('stepdown-e2e/distroless', path.join(REPO, 'docker/distroless.Dockerfile'), sea);
  build('stepdown-e2e/scratch', path.join(REPO, 'docker/scratch.Dockerfile'), sea);
  buildNodeImage('stepdown-e2e/node');
}
