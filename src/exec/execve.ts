// The last step: hand the target a clean process and replace ourselves with it, once the
// arguments and environment are known to fit (an E2BIG from execve would abort Node 24).
// Node leaves SIGPIPE and SIGXFSZ ignored, and an ignored disposition survives execve; a
// caught one is reset to default. So every ignored signal gets a no-op listener just before
// exec. stdio is never touched through process.std* (that would leave it O_NONBLOCK).
import { argSpace, argSpaceProblem, readStackLimit } from './arg-space.js';
import type { Found } from './lookup.js';
import { EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND, errnoCode, fail } from '../system/errors.js';
import { type ProcStatus, hasBit, maskOf } from '../system/proc-status.js';

// SigIgn as Node leaves it when nothing else ignored a signal: SIGPIPE (13) and SIGXFSZ (25),
// the numbers of every Linux architecture Node runs on but MIPS. With only those bits set the
// answer is Node's two, and node:os (its signal table) is not loaded: most starts are this case.
const NODE_OWN_IGNORED = (1n << 12n) | (1n << 24n);
const MIPS = new Set(['mips', 'mipsel', 'mips64', 'mips64el']);

/** Pure: signal names whose disposition must be reset: Node's two plus any in SigIgn. */
export function signalsToReset(status: ProcStatus | undefined, arch: string = process.arch): string[] {
  const names = new Set<string>(['SIGPIPE', 'SIGXFSZ']);
  const ignored = status ? maskOf(status, 'SigIgn') : undefined;
  if (ignored !== undefined && ((ignored & ~NODE_OWN_IGNORED) !== 0n || MIPS.has(arch))) {
    for (const [name, num] of Object.entries(process.getBuiltinModule('node:os').constants.signals)) {
      if (num !== 9 && num !== 19 && hasBit(ignored, num - 1)) names.add(name);
    }
  }
  return [...names];
}

export function execTarget(found: Found, argv: string[], env: Record<string, string>, status: ProcStatus | undefined): never {
  const file = found.file;
  const stack = readStackLimit();
  const tooBig = argSpaceProblem(file, argv, env, found.chain.scripts, stack === undefined ? undefined : argSpace(stack));
  if (tooBig !== undefined) fail(`${file}: ${tooBig}`, EXIT_CANNOT_EXECUTE);
  const noop = () => {};
  for (const sig of signalsToReset(status)) {
    try {
      process.on(sig as NodeJS.Signals, noop);
    } catch {
      // a signal Node refuses to listen to cannot be reset here; nothing better to do
    }
  }
  // Node announces process.execve as experimental on first use; on success the process is
  // gone before that warning is printed, on failure it would be a second line after ours
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    if (type === 'ExperimentalWarning' || (warning instanceof Error && warning.name === 'ExperimentalWarning')) return;
    (emitWarning as (...a: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    process.execve!(file, argv, env);
  } catch (err) {
    // Node ≥ 26.1 throws instead of aborting; the checks before exec should make this rare.
    const code = errnoCode(err);
    fail(`cannot execute ${file}: ${code ?? String(err)}`, code === 'ENOENT' ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE);
  }
  throw new Error('unreachable: execve returned');
}
