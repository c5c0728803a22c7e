// examples/compose/docker-compose.yml as a user runs it (Debian's docker-compose): a host
// directory owned by someone else bind-mounted at /data, STEPDOWN_MATCH=/data, the example
// server answering as the directory's owner, and `down` stopping it gracefully.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E, REPO, bounded, buildNodeImage, docker, requireEngine } from '../helpers/docker.js';

const COMPOSE_FILE = path.join(REPO, 'examples/compose/docker-compose.yml');

describe.runIf(E2E)('examples/compose', () => {
  let dir: string;
  const compose = (args: string[], seconds = 120) =>
    bounded('docker-compose', ['-f', COMPOSE_FILE, '--project-directory', dir, '-p', `stepdowne2e${process.pid}`, ...args], seconds);

  beforeAll(() => {
    requireEngine();
    if (bounded('docker-compose', ['version'], 20).status !== 0) throw new Error('docker-compose is missing: apt-get install docker-compose (test/run-all.sh does)');
    buildNodeImage('stepdown-example-node');
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
