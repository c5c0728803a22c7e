// stepdown as PID 1 of a fresh PID namespace (what a container is): it replaces itself with
// the app, so the app is PID 1 and a SIGTERM sent from outside reaches its handler.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BASE_PATH, IS_ROOT, type Subject, subjects, tempDir } from '../helpers/harness.js';

const SERVER = `
const http = require('node:http');
const server = http.createServer((_q, r) => r.end('ok')).listen(0, '127.0.0.1', () => {
  process.stdout.write('ready pid=' + process.pid + ' uid=' + process.getuid() + '\\n');
});
process.on('SIGTERM', () => server.close(() => { process.stdout.write('graceful\\n'); process.exit(42); }));
`;

function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

describe.skipIf(!IS_ROOT).each(subjects())('PID 1 ($name)', (subject: Subject) => {
  it('the app becomes PID 1, runs as the target, and gets SIGTERM from outside the namespace', async () => {
    const dir = tempDir();
    const server = path.join(dir, 'server.js');
    fs.writeFileSync(server, SERVER);
    const child = spawn('unshare', ['--pid', '--fork', '--mount-proc', ...subject.argv, 'nobody', '--', 'node', server], {
      env: { PATH: BASE_PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));

    for (let i = 0; i < 100 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(out).toBe('ready pid=1 uid=65534\n');
    const [pid1] = childrenOf(child.pid!);
    expect(pid1).toBeGreaterThan(0);
    expect(fs.readFileSync(`/proc/${pid1}/cmdline`, 'utf8').split('\0')[0]).toBe('node'); // stepdown is gone
    expect(childrenOf(pid1!)).toEqual([]); // and left nothing behind

    process.kill(pid1!, 'SIGTERM');
    expect(await exited).toEqual([42, null]);
    expect(out).toBe('ready pid=1 uid=65534\ngraceful\n');
    expect(err).toBe('');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
