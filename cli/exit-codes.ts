/** Exit codes of the `cloudjail` command (documented in docs/cli.md). */
export const ExitCode = {
  /** The command did what was asked. */
  Ok: 0,
  /** The operation failed (store or AWS error, enforcer failure, unexpected error). */
  Failure: 1,
  /** Bad input: unknown option, missing file, unknown filter, invalid configuration or address. */
  BadInput: 2,
  /** Refused: `ban` of an allowlisted range without `--force`. */
  Refused: 3,
  /** Not found: unknown jail, nothing to unban or delete, no such stack, no local server. */
  NotFound: 4,
  /** Desired state written, but the enforcer could not put every ban in the NACLs (capacity, a NACL error). */
  NotEnforced: 5,
  /** `doctor`: at least one check failed (its line says what to fix). */
  DoctorFailed: 6,
  /** `doctor`: no check failed, some warned. */
  DoctorWarnings: 7,
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
