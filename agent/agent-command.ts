/**
 * The agent's command line, shared by `cloudjail agent` (cli/commands/agent.ts) and the
 * stand-alone bundle `cloudjail-agent` (agent/main.ts): the sync loop, `status` and `uninstall`.
 * Declarations only: the actions (agent/agent-actions.ts, the composition root of the agent) are
 * loaded when a subcommand runs.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { BAN_LIST_KEY } from '../lambda/core/ban-list/heartbeat.js';
import type { AgentOptions } from './agent-actions.js';

export const DEFAULT_STATE_FILE = '/var/lib/cloudjail-agent/state.json';

const actions = () => import('./agent-actions.js');

function connectionOptions(command: Command): Command {
  return command
    .option('--bucket <name>', 'ban-list bucket (default: $CLOUDJAIL_AGENT_BUCKET)')
    .option('--key <key>', 'ban-list object key', BAN_LIST_KEY)
    .option('--region <region>', 'AWS Region of the bucket (default: the AWS SDK chain)')
    .option('--endpoint <url>', 'an S3-compatible endpoint (path style; local testing)')
    .option('--local', 'poll the running `cloudjail local` server (its state file names its S3)')
    .option(
      '--local-state <file>',
      'state file of the local server',
      join(tmpdir(), 'cloudjail-local.json'),
    )
    .option('--state-file <file>', "the agent's own state (applied serial)", DEFAULT_STATE_FILE);
}

/** Adds the agent's options, action and subcommands to `command`. */
export function configureAgentCommand(command: Command): Command {
  connectionOptions(command)
    .description(
      'host ban agent: enforce the published ban list in nftables (table inet cloudjail)',
    )
    .option('--once', 'one sync, then exit (0 applied or unchanged, 3 refused, 1 failed)')
    .option('--dry-run', 'print the nft script for the current list; change nothing')
    .option('--interval <duration>', 'poll interval (jittered ±20 %)', '5s')
    .option('--heartbeat-interval <duration>', 'heartbeat interval (and after every change)', '60s')
    .option('--no-heartbeat', 'write no heartbeat record')
    .option('--agent-id <id>', 'heartbeat id (default: EC2 instance id from IMDSv2, else hostname)')
    .option('--forward', 'also enforce on forwarded traffic (hosts that route)')
    .action(async (options: AgentOptions) => (await actions()).runCommand(options));
  command
    .command('status')
    .description('table present, element counts, applied serial, last poll')
    .option('--json', 'one JSON object on stdout')
    // --state-file is the agent command's own option (commander parses it for the parent).
    .action(async (_options: unknown, sub: Command) =>
      (await actions()).statusCommand(
        sub.optsWithGlobals<Pick<AgentOptions, 'stateFile' | 'json'>>(),
      ),
    );
  command
    .command('uninstall')
    .description('delete table inet cloudjail (and nothing else)')
    .action(async () => (await actions()).uninstallCommand());
  return command;
}
