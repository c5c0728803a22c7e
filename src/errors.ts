// Errors are values with an exit code; main.ts turns them into the single `stepdown: …` line.
// The codes follow coreutils env/timeout: 125 stepdown failed, 126 cannot execute, 127 not found.

export const EXIT_FAILURE = 125;
export const EXIT_CANNOT_EXECUTE = 126;
export const EXIT_NOT_FOUND = 127;

export class StepdownError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
    this.name = 'StepdownError';
  }
}

export function fail(message: string, exitCode: number = EXIT_FAILURE): never {
  throw new StepdownError(message, exitCode);
}

/** The errno code of a Node system error, or undefined. */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}
