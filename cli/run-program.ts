/**
 * Runs a commander program and maps what it throws to the CLI's exit codes and one line on
 * stderr. Shared by the full CLI (cli/main.ts) and the stand-alone `regex` entry
 * (cli/commands/regex.ts, which cli/cloudjail.js runs from a bundle of its own modules).
 */
import { type Command, CommanderError } from 'commander';
import { CloudjailError } from '../lambda/core/errors.js';
import { CliError, ExitCode } from './exit-codes.js';

export async function runProgram(program: Command, argv: readonly string[]): Promise<number> {
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.Ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" in commander's exitOverride mode.
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.BadInput;
    }
    if (error instanceof CliError) {
      process.stderr.write(`cloudjail: ${error.message}\n`);
      return error.code;
    }
    if (error instanceof CloudjailError) {
      process.stderr.write(`cloudjail: ${error.message}\n`);
      return ExitCode.BadInput;
    }
    process.stderr.write(`cloudjail: ${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.Failure;
  }
}
