// The examples in examples/compose as a user runs them (Debian's docker-compose):
// - docker-compose.yml: a host directory owned by someone else bind-mounted at /data,
//   STEPDOWN_MATCH=/data, the example server answering as the directory's owner, and `down`
//   stopping it gracefully;
// - docker-socket.yml: the app (10001, in no group 998) reaching a Docker socket that only gid 998
//   may open, through STEPDOWN_GROUP_OF.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E, REPO, bounded, buildNodeImage, docker, requireEngine } from '../helpers/docker.js';

const COMPOSE_FILE = path.join(REPO, 'examples/compose/docker-compose.yml');
const SOCKET_FILE = path.join(REPO, 'examples/compose/docker-socket.yml');

beforeAll(() => {
  if (!E2E) return;
  requireEngine();
  if (bounded('docker-compose', ['version'], 20).status !== 0) throw new Error('docker-compose is missing: apt-get install docker-compose (test/run-all.sh does)');
  buildNodeImage('stepdown-example-node');
}, 600_000);

describe.runIf(E2E)('examples/compose/docker-compose.yml', () => {
  let dir: string;
  const compose = (args: string[], seconds = 120) =>
    bounded('docker-compose', ['-f', COMPOSE_FILE, '--project-directory', dir, '-p', `stepdowne2e${process.pid}`, ...args], seconds);

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stepdown-compose-'));
    fs.mkdirSync(path.join(dir, 'data'));
    fs.chownSync(path.join(dir, 'data'), 4321, 4321); // "the developer's" host uid
  }, 600_000);
  afterAll(() => {
    if (dir) compose(['down', '-t', '5']);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('up: the app runs as the owner of ./data, with only SETUID, SETGID and CHOWN; down stops it gracefully', async () => {
    const up = compose(['up', '-d']);
    expect(up.status, up.stderr).toBe(0);
    let logs = '';
    for (let i = 0; i < 100 && !logs.includes('listening'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      logs = compose(['logs', '--no-color']).stdout;
    }
    expect(logs).toMatch(/stepdown: app is now uid 4321 gid 4321 \(was 10001:10001\)/);
    expect(logs).toMatch(/listening on :8080 as uid 4321 gid 4321, pid 1/);
    const res = await fetch('http://127.0.0.1:8080/');
    expect(await res.text()).toMatch(/^hello from uid 4321 \(pid 1\)\n$/);
    const id = compose(['ps', '-q', 'app']).stdout.trim();
    expect(docker(['inspect', '-f', '{{json .HostConfig.CapAdd}}', id]).stdout.trim()).toBe('["SETUID","SETGID","CHOWN"]');
    const t0 = Date.now();
    expect(compose(['stop', '-t', '5']).status).toBe(0);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(docker(['inspect', '-f', '{{.State.ExitCode}}', id]).stdout.trim()).toBe('0');
    expect(compose(['logs', '--no-color']).stdout).toContain('closed, exiting 0');
  }, 120_000);
});

// Stands in for the host's /var/run/docker.sock: a socket owned by root:998, mode 0660 (as Debian's
// docker.io makes it), in a root-owned 0755 directory, passing each connection on to the test
// engine's socket. It runs in a worker thread because bounded() blocks this thread's event loop
// while docker-compose runs, and the proxy must answer meanwhile.
const PROXY = `
const { parentPort, workerData: { sock, engine, gid } } = require('node:worker_threads');
const fs = require('node:fs');
const net = require('node:net');
const server = net.createServer((app) => {
  const upstream = net.connect(engine);
  app.on('error', () => upstream.destroy());
  upstream.on('error', () => app.destroy());
  app.pipe(upstream).pipe(app);
});
server.listen(sock, () => {
  fs.chownSync(sock, 0, gid);
  fs.chmodSync(sock, 0o660);
  parentPort.postMessage('listening');
});
`;
const SOCKET_GID = 998;

describe.runIf(E2E)('examples/compose/docker-socket.yml', () => {
  let dir = '';
  let proxy: Worker | undefined;
  const compose = (args: string[], seconds = 120) =>
    bounded('env', [`DOCKER_SOCK=${path.join(dir, 'docker.sock')}`, 'docker-compose', '-f', SOCKET_FILE, '--project-directory', dir, '-p', `stepdowne2esock${process.pid}`, ...args], seconds);

  beforeAll(async () => {
    const host = process.env.DOCKER_HOST ?? '';
    if (!host.startsWith('unix://')) throw new Error(`DOCKER_HOST=${host}: the docker-socket.yml test needs the engine's Unix socket (eval "$(bash test/e2e/engine.sh up)")`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stepdown-compose-sock-'));
    fs.chmodSync(dir, 0o755);
    const worker = new Worker(PROXY, { eval: true, workerData: { sock: path.join(dir, 'docker.sock'), engine: host.slice('unix://'.length), gid: SOCKET_GID } });
    proxy = worker;
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the socket proxy exited ${code}`)));
    });
  }, 60_000);
  afterAll(async () => {
    if (dir) compose(['down', '-t', '5']);
    if (proxy) await proxy.terminate();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('up: the app (uid 10001) joins the socket\'s group 998 and prints the engine\'s /version', () => {
    const up = compose(['up', '--exit-code-from', 'app']);
    expect(up.status, up.stdout + up.stderr).toBe(0);
    expect(up.stdout).toMatch(/"ApiVersion":"[0-9.]+"/);
    // exactly one group more than the image gives app
    expect(compose(['run', '--rm', '-T', 'app', 'id', '-u']).stdout).toBe('10001\n');
    expect(compose(['run', '--rm', '-T', 'app', 'id', '-G']).stdout).toBe(`10001 ${SOCKET_GID}\n`);
  }, 300_000);

  it('without STEPDOWN_GROUP_OF the app may not open the socket (EACCES)', () => {
    expect(compose(['run', '--rm', '-T', '-e', 'STEPDOWN_GROUP_OF=', 'app', 'id', '-G']).stdout).toBe('10001\n');
    const run = compose(['run', '--rm', '-T', '-e', 'STEPDOWN_GROUP_OF=', 'app']);
    expect(run.status).not.toBe(0);
    expect(run.stdout + run.stderr).toContain('connect EACCES /var/run/docker.sock');
    expect(run.stdout).not.toContain('ApiVersion');
  }, 300_000);
});
