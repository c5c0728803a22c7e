// Start-up in instructions: what callgrind counts from Node's first instruction to the exec,
// for stepdown's npm entry and its floor. Unlike wall or CPU time this does not move with the
// machine's load, so it shows a change of a fraction of a per cent.
//
// Node runs with --predictable (one thread, fixed hash seeds: the same count every run) and a
// preload that turns process.execve into process.exit(0), because callgrind's counts are lost
// when the process execs. The preload costs every row the same.
//
//   node bench/instructions.mjs          (prints markdown; needs root, valgrind, npm run build)
//   import { runInstructionsBench } from './instructions.mjs'; const line = runInstructionsBench();
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, onPath, x64Node } from '../build/sea.mjs';

const WORK = join(ROOT, 'bench', 'work', 'instructions');
const NOBODY = 65534;

/** Instructions (Ir) callgrind counts for `node --predictable -r <exit-stub> ...args`. */
function count(node, stub, args) {
  // the drop runs as nobody when callgrind writes its file: it must exist and be writable
  mkdirSync(WORK, { recursive: true });
  chmodSync(WORK, 0o1777);
  const out = join(WORK, 'callgrind.out');
  rmSync(out, { force: true });
  writeFileSync(out, '', { mode: 0o666 });
  chmodSync(out, 0o666);
  chownSync(out, NOBODY, NOBODY);
  const r = spawnSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, node, '--predictable', '-r', stub, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const totals = /^totals: (\d+)/m.exec(readFileSync(out, 'utf8'));
  if (r.status !== 0 || !totals) throw new Error(`callgrind ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return Number(totals[1]);
}

/** Runs the counts; returns one markdown paragraph. */
export function runInstructionsBench() {
  if (process.getuid?.() !== 0) throw new Error('the instruction counts need root (stepdown drops privileges)');
  if (!onPath('valgrind')) throw new Error('valgrind is not installed (apt-get install valgrind)');
  const launcher = join(ROOT, 'bin', 'stepdown');
  if (!existsSync(join(ROOT, 'dist', 'stepdown.cjs.cache'))) throw new Error('dist/stepdown.cjs.cache is missing: run npm run build');
  const node = x64Node();
  mkdirSync(WORK, { recursive: true });
  const stub = join(WORK, 'exit-at-exec.cjs');
  writeFileSync(stub, 'process.execve = () => process.exit(0);\n');
  const execJs = join(WORK, 'bare-exec.cjs');
  writeFileSync(execJs, "process.execve('/bin/true', ['/bin/true'], process.env);\n");
  const emptyJs = join(WORK, 'bare.cjs');
  writeFileSync(emptyJs, '');
  const m = (n) => (n / 1e6).toFixed(1);
  const x = (n, base) => `${(n / base).toFixed(3)}×`;
  const bareExec = count(node, stub, [execJs]);
  const drop = count(node, stub, [launcher, 'nobody', '--', '/bin/true']);
  const check = count(node, stub, [launcher, '--check', 'nobody']);
  const bare = count(node, stub, [emptyJs]);
  const version = count(node, stub, [launcher, '--version']);
  return (
    `Instructions (\`node bench/instructions.mjs\`: callgrind, which does not depend on load; \`node --predictable\`, exec replaced by exit; millions), same Node: ` +
    `bare node + execve ${m(bareExec)}; \`node bin/stepdown nobody -- /bin/true\` ${m(drop)} (${x(drop, bareExec)}); ` +
    `bare node ${m(bare)}, \`node bin/stepdown --version\` ${m(version)} (${x(version, bare)}); \`node bin/stepdown --check nobody\` ${m(check)}.\n`
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    process.stdout.write(runInstructionsBench());
  } catch (e) {
    process.stderr.write(`bench: ${e?.message ?? e}\n`);
    process.exit(1);
  }
}
