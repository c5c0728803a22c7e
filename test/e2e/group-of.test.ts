// --group-of in a real Docker engine: a Unix socket made on the host by this test process, owned
// by root:998 mode 0660 (like docker.sock), bind-mounted into the node image; its app user
// (10001, in no group 998) connects only when stepdown adds the socket's group.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E, RUNTIMES, buildNodeImage, docker, requireEngine } from '../helpers/docker.js';

const NODE = 'stepdown-e2e/node';
const GID = 998;
// prints "connected" or the error code, and exits 0 or 3
const CLIENT = [
  'node',
  '-e',
  "require('net').connect('/run/app.sock').on('connect', () => { console.log('connected'); process.exit(0) }).on('error', (e) => { console.log(e.code); process.exit(3) })",
];

let dir = '';
let server: net.Server | undefined;
let sock = '';

beforeAll(async () => {
  if (!E2E) return;
  requireEngine();
  buildNodeImage(NODE);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stepdown-sock-'));
  fs.chmodSync(dir, 0o755);
  sock = path.join(dir, 'app.sock');
  // connect completes in the kernel's backlog even while docker's spawnSync blocks this loop
  server = net.createServer((c) => c.destroy());
  await new Promise<void>((resolve) => server!.listen(sock, resolve));
  fs.chownSync(sock, 0, GID);
  fs.chmodSync(sock, 0o660);
}, 600_000);

afterAll(async () => {
  if (server) await new Promise((resolve) => server!.close(resolve));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe.runIf(E2E).each(RUNTIMES)('--group-of a host socket (%s)', (runtime) => {
  // gVisor reaches a host Unix socket only when runsc runs with --host-uds=open (or all), as the
  // engine registers it (test/e2e/engine.sh); without it the bind mount of a socket fails (EPERM)
  // before anything starts. Under runsc the groups are also checked on a file made inside the sandbox.
  const gvisor = runtime === 'runsc';
  const run = (args: string[]) => docker(['run', '--rm', `--runtime=${runtime}`, '-v', `${sock}:/run/app.sock`, ...args]);

  it.runIf(gvisor)("under gVisor: a file's gid is added, exactly, and verified against gVisor's /proc", () => {
    const r = docker(['run', '--rm', `--runtime=${runtime}`, '--entrypoint', 'sh', NODE, '-c', `mkdir /run/x && touch /run/x/f && chgrp ${GID} /run/x/f && exec stepdown --group-of /var/run/x/f app -- id -G`]);
    expect(r).toEqual({ status: 0, stdout: `10001 ${GID}\n`, stderr: '' });
  });

  it('without --group-of the app cannot connect; with it (option or STEPDOWN_GROUP_OF) it can, and has exactly one more group', () => {
    const ids = (args: string[]) => run(args).stdout;
    expect(ids([NODE, 'id', '-G'])).toBe('10001\n');
    expect(ids(['-e', 'STEPDOWN_GROUP_OF=/run/app.sock', NODE, 'id', '-G'])).toBe(`10001 ${GID}\n`);
    expect(ids(['--entrypoint', 'stepdown', NODE, '--group-of', '/var/run/app.sock', 'app', '--', 'id', '-G'])).toBe(`10001 ${GID}\n`);
    expect(run([NODE, ...CLIENT])).toMatchObject({ status: 3, stdout: 'EACCES\n' });
    expect(run(['-e', 'STEPDOWN_GROUP_OF=/run/app.sock', NODE, ...CLIENT])).toMatchObject({ status: 0, stdout: 'connected\n' });
    expect(run(['--entrypoint', 'stepdown', NODE, '--group-of', '/var/run/app.sock', 'app', '--', ...CLIENT])).toMatchObject({ status: 0, stdout: 'connected\n' });
  });

  it('--user 10001 (pass-through): proceeds with --group-add 998, else exits 125 saying what to add, nothing run', () => {
    const env = ['-e', 'STEPDOWN_GROUP_OF=/run/app.sock'];
    expect(run(['--user', '10001:10001', '--group-add', String(GID), ...env, NODE, 'id', '-G'])).toMatchObject({ status: 0, stdout: `10001 ${GID}\n` });
    expect(run(['--user', '10001:10001', ...env, NODE, 'id', '-G'])).toEqual({
      status: 125,
      stdout: '',
      stderr:
        `stepdown: STEPDOWN_GROUP_OF path /run/app.sock: already running as uid 10001 gid 10001, without gid ${GID}, and a process that is not root cannot add groups; ` +
        `add it to the pod spec (securityContext.supplementalGroups: [${GID}]) or run with docker run --group-add ${GID}, or start the container as root\n`,
    });
  });
});
