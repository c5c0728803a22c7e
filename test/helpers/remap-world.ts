// A remap world for root integration tests: its own /etc (system accounts, a gid-0 user, group
// shadow), homes whose files the users own, volumes of any owner, and a command that leaves a
// mark when it runs (so a refusal can prove nothing ran). Shared by remap-safety and remap-ids.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import { BASE_PATH, tempDir } from './harness.js';

export const owner = (p: string) => {
  const st = fs.lstatSync(p);
  return `${st.uid}:${st.gid}`;
};

export const PASSWD = (dir: string) =>
  [
    'root:x:0:0:root:/root:/bin/bash',
    'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
    'www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin',
    'messagebus:x:101:65534::/nonexistent:/usr/sbin/nologin',
    'node:x:1000:1000::/home/node:/bin/sh',
    `ops:x:10001:10001:Ops:${dir}/home/ops:/bin/sh`,
    `app:x:1001:0:OpenShift style:${dir}/home/app:/bin/sh`,
    `dev:x:10003:10003::${dir}/home/dev:/bin/sh`,
    'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
    '',
  ].join('\n');
export const GROUP = 'root:x:0:\ndaemon:x:1:\nadm:x:4:\nshadow:x:42:\nwww-data:x:33:\nusers:x:100:\nnode:x:1000:\nops:x:10001:\ndev:x:10003:\nnogroup:x:65534:\n';

export function world() {
  const dir = tempDir();
  const etc = path.join(dir, 'etc');
  fs.mkdirSync(etc);
  fs.writeFileSync(path.join(etc, 'passwd'), PASSWD(dir), { mode: 0o644 });
  fs.writeFileSync(path.join(etc, 'group'), GROUP, { mode: 0o644 });
  for (const [user, uid, gid] of [['ops', 10001, 10001], ['app', 1001, 0], ['dev', 10003, 10003]] as const) {
    const home = path.join(dir, 'home', user);
    fs.mkdirSync(home, { recursive: true });
    fs.writeFileSync(path.join(home, 'file'), user);
    fs.chownSync(path.join(home, 'file'), uid, gid);
    fs.chownSync(home, uid, gid);
  }
  const vol = (uid: number, gid: number, name = `vol-${uid}-${gid}`) => {
    const v = path.join(dir, name);
    fs.mkdirSync(v, { recursive: true });
    fs.chownSync(v, uid, gid);
    return v;
  };
  const read = (f: string) => fs.readFileSync(path.join(etc, f), 'latin1');
  const marks = path.join(dir, 'marks');
  fs.mkdirSync(marks, { mode: 0o1777 });
  fs.chmodSync(marks, 0o1777);
  const ran = () => fs.existsSync(path.join(marks, 'ran'));
  // the command, when it runs, leaves a mark and prints its ids
  const cmd = ['sh', '-c', `touch ${marks}/ran; echo $(id -u):$(id -g):$(id -G)`];
  /** /etc byte for byte as made, and no lock or temp file beside it */
  const etcUnchanged = () => {
    expect(read('passwd')).toBe(PASSWD(dir));
    expect(read('group')).toBe(GROUP);
    expect(fs.readdirSync(etc).sort()).toEqual(['group', 'passwd']);
  };
  /** ops's home and its file still ops's old ids: nothing re-owned */
  const opsHomeUnchanged = () => {
    const home = path.join(dir, 'home/ops');
    expect([home, path.join(home, 'file')].map(owner)).toEqual(['10001:10001', '10001:10001']);
  };
  return { dir, etc, vol, read, ran, cmd, passwd: PASSWD(dir), group: GROUP, etcUnchanged, opsHomeUnchanged };
}

/** Starts argv (asynchronously, so several run at once) in a private mount namespace with `etc`
 * as /etc and empty /root and /home; settles with its exit code and output. */
export function startWithEtc(etc: string, argv: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const script = 'mount --bind "$1" /etc && mount -t tmpfs none /root && mount -t tmpfs none /home && shift && exec "$@"';
    const c = spawn('unshare', ['--mount', 'sh', '-c', script, 'sh', etc, ...argv], { env: { PATH: BASE_PATH } });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d));
    c.stderr.on('data', (d: Buffer) => (err += d));
    c.on('exit', (code) => resolve({ code, out, err }));
  });
}
