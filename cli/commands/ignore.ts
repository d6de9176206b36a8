/**
 * `cloudjail ignore add|del|list`: the runtime allowlist the detector honours (on top of the
 * configuration's `ignoreip`) and manual bans refuse without `--force`. The detector re-reads it at
 * least once a minute.
 */
import type { Command } from 'commander';
import { addIgnore, listIgnores, removeIgnore } from '../../lambda/use-cases/ignore-list.js';
import {
  addConnectionOptions,
  type CliContext,
  type ConnectionOptions,
  withContext,
} from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { cidrAddress } from '../format.js';
import { cidrArgument, printJson, printLines } from '../input.js';

interface IgnoreOptions extends ConnectionOptions {
  readonly jail?: string;
  readonly json?: boolean;
}

function deps(ctx: CliContext) {
  return {
    store: ctx.store,
    jails: ctx.config.jails,
    ignoreip: ctx.config.ignoreip,
    now: () => ctx.now(),
  };
}

export function register(program: Command): void {
  const ignore = program
    .command('ignore')
    .description('the runtime allowlist: addresses the detector never counts nor bans')
    .addHelpText(
      'after',
      '\nExit codes: 0 ok (and `cloudjail ignore` alone, which prints this help), 2 bad address, 4 unknown jail or entry not in the list, 1 store/AWS error.',
    )
    .action(() => {
      // No subcommand: this help on stdout, exit 0 (as `--help`).
      ignore.outputHelp();
    });
  addConnectionOptions(
    ignore
      .command('add')
      .description('allowlist an address or CIDR (every jail, or --jail)')
      .argument('<address>', 'IPv4/IPv6 address or CIDR')
      .option('--jail <jail>', 'only for this jail')
      .option('--json', 'one JSON object on stdout'),
  ).action(async (address: string, options: IgnoreOptions) => {
    const cidr = cidrArgument(address);
    await withContext(options, async (ctx) => {
      const out = await addIgnore(
        { cidr, ...(options.jail !== undefined ? { jail: options.jail } : {}) },
        deps(ctx),
      );
      if (out.status === 'unknown-jail') {
        throw new CliError(
          `no jail ${JSON.stringify(out.jail)} (jails: ${out.known.join(', ')})`,
          ExitCode.NotFound,
        );
      }
      if (options.json) {
        printJson(out);
        return;
      }
      const scope = out.entry.jail ? `jail ${out.entry.jail}` : 'every jail';
      const lines = [
        out.status === 'added'
          ? `allowlisted ${cidr.text} for ${scope}`
          : `${cidr.text} is already allowlisted for ${scope}`,
      ];
      if (out.activeBans.length > 0) {
        lines.push(
          `note: still banned until unbanned: ${out.activeBans.map((b) => `${cidrAddress(b.cidr)} [${b.jail}]`).join(', ')} (cloudjail unban ...)`,
        );
      }
      printLines(lines);
    });
  });
  addConnectionOptions(
    ignore
      .command('del')
      .alias('rm')
      .description('remove an address or CIDR from the runtime allowlist')
      .argument('<address>', 'IPv4/IPv6 address or CIDR, as added')
      .option('--jail <jail>', 'the entry of this jail (as added)')
      .option('--json', 'one JSON object on stdout'),
  ).action(async (address: string, options: IgnoreOptions) => {
    const cidr = cidrArgument(address);
    await withContext(options, async (ctx) => {
      const out = await removeIgnore(
        { cidr, ...(options.jail !== undefined ? { jail: options.jail } : {}) },
        deps(ctx),
      );
      if (options.json) printJson(out);
      const scope = options.jail !== undefined ? ` for jail ${options.jail}` : '';
      if (out.status === 'not-found') {
        // Said where it is, when it is there under another scope (`--jail` given or not).
        const elsewhere = (await listIgnores(deps(ctx))).filter(
          (e) => e.cidr === cidr.text && e.source === 'runtime' && e.jail !== options.jail,
        );
        const hint = elsewhere
          .map((e) =>
            e.jail === undefined
              ? `; it is allowlisted for every jail: \`cloudjail ignore del ${address}\``
              : `; it is allowlisted for jail ${e.jail}: \`cloudjail ignore del ${address} --jail ${e.jail}\``,
          )
          .join('');
        throw new CliError(
          `${cidr.text} is not in the runtime allowlist${scope}${hint}`,
          ExitCode.NotFound,
        );
      }
      if (out.status === 'in-config') {
        throw new CliError(
          `${cidr.text} is in the configuration's ignoreip${scope}: change the configuration and redeploy`,
          ExitCode.NotFound,
        );
      }
      if (!options.json) printLines([`removed ${cidr.text} from the runtime allowlist${scope}`]);
    });
  });
  addConnectionOptions(
    ignore
      .command('list')
      .alias('ls')
      .description('list the allowlist: runtime entries, then the configuration')
      .option('--jail <jail>', "only what applies to this jail (its own entries and every jail's)")
      .option('--json', 'one JSON object on stdout: {"entries": [...]}'),
  ).action(async (options: IgnoreOptions) => {
    await withContext(options, async (ctx) => {
      const jail = options.jail;
      if (jail !== undefined && !ctx.config.jails.some((j) => j.name === jail)) {
        throw new CliError(
          `no jail ${JSON.stringify(jail)} (jails: ${ctx.config.jails.map((j) => j.name).join(', ')})`,
          ExitCode.NotFound,
        );
      }
      const entries = (await listIgnores(deps(ctx))).filter(
        (e) => jail === undefined || e.jail === undefined || e.jail === jail,
      );
      if (options.json) {
        printJson({ entries });
        return;
      }
      if (entries.length === 0) {
        printLines(['the allowlist is empty']);
        return;
      }
      const width = Math.max(...entries.map((e) => e.cidr.length));
      printLines(
        entries.map(
          (e) => `${e.cidr.padEnd(width)}  ${(e.jail ?? 'all jails').padEnd(12)}  ${e.source}`,
        ),
      );
    });
  });
}
