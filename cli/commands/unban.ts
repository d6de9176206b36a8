/**
 * `cloudjail unban <ip|cidr> | --all [--jail J]`: ends bans now (desired state), runs the enforcer,
 * waits for it and prints what left the NACLs. Nothing to unban exits 4.
 */
import type { Command } from 'commander';
import { type Ban, MANUAL_JAIL } from '../../lambda/core/ban.js';
import type { EnforcementReport } from '../../lambda/use-cases/enforce-bans.js';
import { manualUnban } from '../../lambda/use-cases/manual-ban.js';
import { readAddressList } from '../address-list.js';
import {
  addConnectionOptions,
  type ConnectionOptions,
  EnforcementPendingError,
  withContext,
} from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { cidrAddress, denyLocations, enforcementLines } from '../format.js';
import { cidrArgument, printJson, printLines } from '../input.js';

interface UnbanOptions extends ConnectionOptions {
  readonly all?: boolean;
  readonly jail?: string;
  readonly json?: boolean;
  readonly file?: string;
}

export function register(program: Command): void {
  addConnectionOptions(
    program
      .command('unban')
      .description('end bans now: release them, run the enforcer, print the outcome')
      .argument('[address]', 'IPv4/IPv6 address or CIDR of the ban')
      .option('--all', 'every active ban (of --jail, if given)')
      .option('--file <list>', 'unban every address of this file ("-": stdin), one enforcer run')
      .option('--jail <jail>', 'only bans of this jail')
      .option('--json', 'one JSON object on stdout: {"released", "enforcement"}'),
  )
    .addHelpText(
      'after',
      '\nExit codes: 0 released, 2 bad input, 4 nothing to unban or unknown jail, 8 released but the enforcer\ncould not run now (busy or unreachable: the next scheduled run removes the entries), 1 store/AWS/enforcer error.',
    )
    .action(async (address: string | undefined, options: UnbanOptions) => {
      if (options.file !== undefined) {
        if (address !== undefined || options.all) {
          throw new CliError('give one of an address, --all or --file');
        }
        await runUnbanList(options.file, options);
        return;
      }
      await runUnban(address, options);
    });
}

async function runUnban(address: string | undefined, options: UnbanOptions): Promise<void> {
  if (address === undefined && !options.all) {
    throw new CliError('unban needs an address/CIDR or --all');
  }
  if (address !== undefined && options.all) {
    throw new CliError('give either an address/CIDR or --all, not both');
  }
  const cidr = address === undefined ? undefined : cidrArgument(address);
  await withContext(options, async (ctx) => {
    const jails = [...ctx.config.jails.map((j) => j.name), MANUAL_JAIL];
    if (options.jail !== undefined && !jails.includes(options.jail)) {
      const banned = (await ctx.store.listBans()).some((b) => b.jail === options.jail);
      if (!banned) {
        throw new CliError(
          `no jail ${JSON.stringify(options.jail)} (jails: ${jails.join(', ')})`,
          ExitCode.NotFound,
        );
      }
    }
    const outcome = await manualUnban(
      {
        ...(cidr ? { cidr } : {}),
        ...(options.jail !== undefined ? { jail: options.jail } : {}),
        ...(options.all ? { all: true } : {}),
      },
      { store: ctx.store, now: () => ctx.now() },
    );
    if (outcome.released.length === 0 && cidr) {
      const hint =
        outcome.coveredBy.length > 0
          ? `; it is inside ${outcome.coveredBy.map((b) => `${b.cidr} [${b.jail}]`).join(', ')}, which still blocks it (\`ignore add\` would not lift that deny entry): \`cloudjail unban ${outcome.coveredBy[0]?.cidr}\` lifts the whole range, then ban again the parts that should stay blocked`
          : '';
      if (options.json) printJson({ released: [], coveredBy: outcome.coveredBy });
      throw new CliError(
        `${cidr.text} is not banned${options.jail !== undefined ? ` in jail ${options.jail}` : ''}${hint}`,
        ExitCode.NotFound,
      );
    }
    let report: EnforcementReport;
    try {
      report = await ctx.enforce(
        `cloudjail unban ${cidr ? cidr.text : `--all${options.jail ? ` --jail ${options.jail}` : ''}`}`,
      );
    } catch (e) {
      if (!(e instanceof EnforcementPendingError)) throw e;
      if (options.json)
        printJson({ released: outcome.released, pending: e.why, enforcement: null });
      else {
        printLines([
          `released ${outcome.released.length} ban(s); recorded, not yet enforced: ${e.why}`,
          'the next scheduled enforcer run removes the entries; check with `cloudjail status`',
        ]);
      }
      process.exitCode = ExitCode.Pending;
      return;
    }
    if (options.json) {
      printJson({ released: outcome.released, enforcement: report });
      return;
    }
    const lines = [`released ${outcome.released.length} ban(s)`];
    for (const b of outcome.released) {
      const still = denyLocations(report, b.cidr);
      lines.push(
        `  ${cidrAddress(b.cidr)} [${b.jail}]${still.length > 0 ? ` — still denied in ${still.join(', ')} (banned in another jail)` : ' — removed from the network ACLs'}`,
      );
    }
    lines.push('enforcer:', ...enforcementLines(report));
    printLines(lines);
  });
}

/** `unban --file LIST`: every address released, then one enforcer run. */
async function runUnbanList(file: string, options: UnbanOptions): Promise<void> {
  const cidrs = await readAddressList(file);
  await withContext(options, async (ctx) => {
    const released: Ban[] = [];
    const notBanned: string[] = [];
    for (const cidr of cidrs) {
      const outcome = await manualUnban(
        { cidr, ...(options.jail !== undefined ? { jail: options.jail } : {}) },
        { store: ctx.store, now: () => ctx.now() },
      );
      released.push(...outcome.released);
      if (outcome.released.length === 0) notBanned.push(cidr.text);
    }
    if (released.length === 0) {
      if (options.json) printJson({ released: [], notBanned });
      throw new CliError(`none of the ${cidrs.length} address(es) is banned`, ExitCode.NotFound);
    }
    const report = await ctx.enforce(`cloudjail unban --file (${cidrs.length} address(es))`);
    if (options.json) {
      printJson({ released, notBanned, enforcement: report });
      return;
    }
    printLines([
      `released ${released.length} ban(s)${notBanned.length > 0 ? `; not banned: ${notBanned.map(cidrAddress).join(', ')}` : ''}`,
      ...released.map((b) => `  ${cidrAddress(b.cidr)} [${b.jail}]`),
      'enforcer (one run):',
      ...enforcementLines(report),
    ]);
  });
}
