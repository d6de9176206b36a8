/**
 * `cloudjail agent-config --jail <name> --file <log>`: prints the CloudWatch agent configuration
 * that ships an SBC log file to the jail's log group (see cli/agent-config.ts).
 */
import type { Command } from 'commander';
import { buildAgentConfig, LOG_FORMATS, resolveAgentJail } from '../agent-config.js';

interface AgentConfigCliOptions {
  jail: string;
  file: string;
  config: string;
  logGroup?: string;
  prefilter?: boolean;
}

export function register(program: Command): void {
  program
    .command('agent-config')
    .description(
      "print a CloudWatch agent configuration shipping one SBC log file to its jail's log group",
    )
    .requiredOption(
      '--jail <name>',
      `jail name (built-in formats: ${Object.keys(LOG_FORMATS).join(', ')})`,
    )
    .requiredOption('--file <path>', 'log file on the SBC, e.g. /var/log/freeswitch/freeswitch.log')
    .option('--config <cdk.json>', 'cdk.json holding the cloudjail jails', './cdk.json')
    .option('--log-group <name>', "log group (default: the jail's first log group)")
    .option('--prefilter', 'drop lines on the host that cannot be failures (cuts ingestion cost)')
    .action((options: AgentConfigCliOptions) => {
      const jail = resolveAgentJail(options.jail, options.config, options.logGroup);
      const config = buildAgentConfig({
        jail,
        file: options.file,
        ...(options.logGroup ? { logGroup: options.logGroup } : {}),
        ...(options.prefilter ? { prefilter: true } : {}),
      });
      process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
    });
}
