/** Exit codes of the `cloudjail` command (documented in the README's CLI reference). */
export const ExitCode = {
  /** The command did what was asked. */
  Ok: 0,
  /** The operation failed (store or AWS error, enforcer failure, a ban not enforced when asked to wait). */
  Failure: 1,
  /** Bad input: unknown option, missing file, unknown filter, invalid configuration or address. */
  BadInput: 2,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error whose message is shown as one line on stderr, exiting with `code`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: ExitCode = ExitCode.BadInput,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
