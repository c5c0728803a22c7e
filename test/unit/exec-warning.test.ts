// A failing process.execve prints nothing but stepdown's own line: Node's ExperimentalWarning
// for execve (emitted through process.emitWarning on first use) is dropped.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StepdownError } from '../../src/errors.js';
import { execTarget } from '../../src/exec.js';

describe('execTarget on a failing execve', () => {
  const saved = { execve: process.execve, emitWarning: process.emitWarning };
  afterEach(() => {
    if (saved.execve) process.execve = saved.execve;
    else delete (process as { execve?: unknown }).execve;
    process.emitWarning = saved.emitWarning;
  });

  it("drops Node's ExperimentalWarning and fails with one StepdownError", () => {
    const printed = vi.fn();
    process.emitWarning = printed as unknown as typeof process.emitWarning;
    (process as { execve?: unknown }).execve = (() => {
      process.emitWarning('process.execve is an experimental feature', 'ExperimentalWarning');
      throw Object.assign(new TypeError('bad argument'), { code: 'ERR_INVALID_ARG_VALUE' });
    });
    const found = { file: '/bin/true', chain: { files: ['/bin/true'], scripts: [] } };
    expect(() => execTarget(found, ['/bin/true'], {}, undefined)).toThrow(StepdownError);
    expect(printed).not.toHaveBeenCalled();
  });
});
