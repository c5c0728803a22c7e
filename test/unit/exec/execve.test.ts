import { describe, expect, it } from 'vitest';
import { signalsToReset } from '../../../src/exec/execve.js';
import { parseProcStatus } from '../../../src/system/proc-status.js';

describe('signalsToReset', () => {
  it("always resets Node's SIGPIPE and SIGXFSZ, plus anything SigIgn lists", () => {
    expect(signalsToReset(undefined).sort()).toEqual(['SIGPIPE', 'SIGXFSZ']);
    // SigIgn bits: HUP (1) and PIPE (13) and XFSZ (25)
    const st = parseProcStatus('SigIgn:\t0000000001001001\n');
    expect(signalsToReset(st).sort()).toEqual(['SIGHUP', 'SIGPIPE', 'SIGXFSZ']);
  });

  it("with only Node's own two ignored, the answer is those two, on every architecture", () => {
    const st = parseProcStatus('SigIgn:\t0000000001001000\n');
    expect(signalsToReset(st).sort()).toEqual(['SIGPIPE', 'SIGXFSZ']);
    expect(signalsToReset(st, 'mips64el').sort()).toEqual(['SIGPIPE', 'SIGXFSZ']);
    // the signal just above SIGXFSZ (SIGVTALRM, 26) is not taken for one of Node's
    expect(signalsToReset(parseProcStatus('SigIgn:\t0000000003001000\n')).sort()).toEqual(['SIGPIPE', 'SIGVTALRM', 'SIGXFSZ']);
  });
});
