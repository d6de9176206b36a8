/**
 * Composition root of the `cloudjail` CLI: builds the commander program from one module per verb
 * (cli/commands/*.ts) and runs it (cli/run-program.ts maps errors to exit codes). No command
 * logic lives here.
 */
import { Command } from 'commander';
import { register as registerAgent } from './commands/agent.js';
import { register as registerAgentConfig } from './commands/agent-config.js';
import { register as registerBackfill } from './commands/backfill.js';
import { register as registerBan } from './commands/ban.js';
import { register as registerDemo } from './commands/demo.js';
import { register as registerDoctor } from './commands/doctor.js';
import { register as registerIgnore } from './commands/ignore.js';
import { register as registerImport } from './commands/import.js';
import { register as registerLocal } from './commands/local.js';
import { register as registerRegex } from './commands/regex.js';
import { register as registerReplay } from './commands/replay.js';
import { register as registerSet } from './commands/set.js';
import { register as registerShip } from './commands/ship.js';
import { register as registerStatus } from './commands/status.js';
import { register as registerUnban } from './commands/unban.js';
import { runProgram } from './run-program.js';

/** Each command module exports one of these; it adds its subcommand to the program. */
export type RegisterCommand = (program: Command) => void;

const commands: RegisterCommand[] = [
  registerStatus,
  registerBan,
  registerUnban,
  registerIgnore,
  registerSet,
  registerRegex,
  registerReplay,
  registerDemo,
  registerLocal,
  registerAgentConfig,
  registerImport,
  registerShip,
  registerBackfill,
  registerDoctor,
  registerAgent,
];

export function buildProgram(): Command {
  const program = new Command('cloudjail')
    .description('fail2ban for cloud-hosted SIP fleets: filters, jails and network ACL bans on AWS')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  // The supported Node.js range is the project's (package.json engines), not the AWS SDK's notice.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return runProgram(buildProgram(), argv);
}
