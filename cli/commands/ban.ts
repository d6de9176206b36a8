/**
 * `cloudjail ban <ip|cidr> [--jail J] [--for D | --permanent] [--reason R] [--force]`: writes the
 * ban (desired state), runs the enforcer, waits for it and prints where the range is denied.
 * Allowlisted ranges are refused without `--force` (exit 3); a ban written but not in every NACL
 * (no capacity, a NACL error) exits 5.
 */
import type { Command } from 'commander';
import { MANUAL_JAIL } from '../../lambda/core/ban.js';
import type { Cidr } from '../../lambda/core/ip-address.js';
import { PERMANENT } from '../../lambda/core/policy/duration.js';
import type { EnforcementReport } from '../../lambda/use-cases/enforce-bans.js';
import { manualBan } from '../../lambda/use-cases/manual-ban.js';
import { readAddressList } from '../address-list.js';
import { addConnectionOptions, type ConnectionOptions, withContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { banLine, cidrAddress, denyLocations, enforcementLines } from '../format.js';
import { cidrArgument, durationOption, printJson, printLines } from '../input.js';

interface BanOptions extends ConnectionOptions {
  readonly jail?: string;
  readonly for?: string;
  readonly permanent?: boolean;
  readonly reason?: string;
  readonly force?: boolean;
  readonly json?: boolean;
  readonly file?: string;
}

/** Prefixes shorter than these need --force: they would cut off a large part of the internet. */
const BROADEST = { 4: 8, 6: 32 } as const;

export function register(program: Command): void {
  addConnectionOptions(
    program
      .command('ban')
      .description('ban an address or CIDR now: write the ban, run the enforcer, print the outcome')
      .argument('[address]', 'IPv4/IPv6 address or CIDR (203.0.113.7, 2001:db8::/64)')
      .option('--file <list>', 'ban every address of this file ("-": stdin), one enforcer run')
      .option(
        '--jail <jail>',
        `jail of the ban (default: ${MANUAL_JAIL}, which denies all traffic)`,
      )
      .option(
        '--for <duration>',
        "ban length, fail2ban syntax (600, 10m, 1h, 1d); default: the jail's bantime, 1d for manual",
      )
      .option('--permanent', 'never expires (until `cloudjail unban`)')
      .option('--reason <text>', 'shown by status and notifications')
      .option('--force', 'ban even if the range is allowlisted (ignoreip or `ignore add`)')
      .option('--json', 'one JSON object on stdout: {"status", "ban", "enforcement"}'),
  )
    .addHelpText(
      'after',
      '\nExit codes: 0 banned and enforced (or already banned), 2 bad input, 3 refused (allowlisted),\n4 unknown jail, 5 banned but not enforced in every NACL, 1 store/AWS/enforcer error.',
    )
    .action(async (address: string | undefined, options: BanOptions) => {
      if (options.file !== undefined) {
        if (address !== undefined) throw new CliError('give either an address or --file, not both');
        await runBanList(options.file, options);
        return;
      }
      if (address === undefined) throw new CliError('ban needs an address/CIDR or --file LIST');
      await runBan(address, options);
    });
}

function banDuration(options: BanOptions): number | undefined {
  if (options.for !== undefined && options.permanent) {
    throw new CliError('--for and --permanent exclude each other');
  }
  if (options.permanent) return PERMANENT;
  return options.for === undefined ? undefined : durationOption(options.for, '--for', true);
}

function checkBreadth(cidr: Cidr, force: boolean | undefined): void {
  if (!force && cidr.prefix < BROADEST[cidr.family]) {
    throw new CliError(
      `refusing to ban ${cidr.text}: broader than /${BROADEST[cidr.family]} (use --force if you mean it)`,
      ExitCode.Refused,
    );
  }
}

/** True when the CIDR is denied in every target NACL of the report. */
export function enforcedEverywhere(report: EnforcementReport, cidr: string): boolean {
  return report.nacls.every((n) => n.entries.some((e) => e.cidr === cidr));
}

async function runBan(address: string, options: BanOptions): Promise<void> {
  const cidr = cidrArgument(address);
  const duration = banDuration(options);
  checkBreadth(cidr, options.force);
  await withContext(options, async (ctx) => {
    const outcome = await manualBan(
      {
        cidr,
        ...(options.jail !== undefined ? { jail: options.jail } : {}),
        ...(duration !== undefined ? { duration } : {}),
        ...(options.reason !== undefined ? { reason: options.reason } : {}),
        ...(options.force ? { force: true } : {}),
      },
      {
        store: ctx.store,
        jails: ctx.config.jails,
        ignoreip: ctx.config.ignoreip,
        now: () => ctx.now(),
      },
    );
    if (outcome.status === 'unknown-jail') {
      throw new CliError(
        `no jail ${JSON.stringify(outcome.jail)} (jails: ${outcome.known.join(', ')})`,
        ExitCode.NotFound,
      );
    }
    if (outcome.status === 'refused') {
      if (options.json)
        printJson({ status: 'refused', cidr: cidr.text, allowlist: outcome.allowlist });
      const list = outcome.allowlist
        .map(
          (h) =>
            `${h.cidr} (${h.source === 'runtime' ? 'ignore list' : h.source === 'jail' ? `jail ${h.jail} ignoreip` : 'ignoreip'})`,
        )
        .join(', ');
      throw new CliError(
        `refusing to ban ${cidr.text}: allowlisted by ${list}; use --force to ban anyway`,
        ExitCode.Refused,
      );
    }
    const report = await ctx.enforce(`cloudjail ban ${cidr.text}`);
    const enforced = enforcedEverywhere(report, cidr.text);
    if (options.json) {
      printJson({ status: outcome.status, ban: outcome.ban, enforced, enforcement: report });
    } else {
      const now = ctx.now();
      const lines = [
        outcome.status === 'banned'
          ? `banned ${banLine(outcome.ban, now)}`
          : `already banned: ${banLine(outcome.ban, now)}`,
      ];
      if (outcome.status === 'banned' && outcome.forcedOver.length > 0) {
        lines.push(
          `  (forced over the allowlist: ${outcome.forcedOver.map((h) => h.cidr).join(', ')})`,
        );
      }
      const where = denyLocations(report, cidr.text);
      lines.push(
        where.length > 0
          ? `denied in ${where.join(', ')}`
          : report.dryRun
            ? 'not written to any NACL: enforcement is in dry-run mode'
            : `${cidrAddress(cidr.text)} is NOT in any network ACL yet (see below)`,
      );
      lines.push('enforcer:', ...enforcementLines(report));
      printLines(lines);
    }
    if (!enforced && !report.dryRun) {
      process.stderr.write(
        `cloudjail: ${cidr.text} is banned but not denied in every network ACL (capacity or NACL error: see \`cloudjail status\`)\n`,
      );
      process.exitCode = ExitCode.NotEnforced;
    }
  });
}

/** `ban --file LIST`: every address banned, then one enforcer run; a line per address. */
async function runBanList(file: string, options: BanOptions): Promise<void> {
  const cidrs = await readAddressList(file);
  const duration = banDuration(options);
  for (const cidr of cidrs) checkBreadth(cidr, options.force);
  await withContext(options, async (ctx) => {
    const deps = {
      store: ctx.store,
      jails: ctx.config.jails,
      ignoreip: ctx.config.ignoreip,
      now: () => ctx.now(),
    };
    const results: { cidr: string; status: string; allowlist?: string[] }[] = [];
    for (const cidr of cidrs) {
      const outcome = await manualBan(
        {
          cidr,
          ...(options.jail !== undefined ? { jail: options.jail } : {}),
          ...(duration !== undefined ? { duration } : {}),
          ...(options.reason !== undefined ? { reason: options.reason } : {}),
          ...(options.force ? { force: true } : {}),
        },
        deps,
      );
      if (outcome.status === 'unknown-jail') {
        throw new CliError(
          `no jail ${JSON.stringify(outcome.jail)} (jails: ${outcome.known.join(', ')})`,
          ExitCode.NotFound,
        );
      }
      results.push(
        outcome.status === 'refused'
          ? { cidr: cidr.text, status: 'refused', allowlist: outcome.allowlist.map((h) => h.cidr) }
          : { cidr: cidr.text, status: outcome.status },
      );
    }
    const written = results.filter((r) => r.status !== 'refused');
    const report = await ctx.enforce(`cloudjail ban --file (${written.length} address(es))`);
    const withEnforced = results.map((r) => ({
      ...r,
      ...(r.status !== 'refused' ? { enforced: enforcedEverywhere(report, r.cidr) } : {}),
    }));
    if (options.json) printJson({ results: withEnforced, enforcement: report });
    else {
      const lines = withEnforced.map((r) =>
        r.status === 'refused'
          ? `refused ${cidrAddress(r.cidr)}: allowlisted by ${r.allowlist?.join(', ')} (--force to ban anyway)`
          : `${r.status === 'banned' ? 'banned' : 'already banned'} ${cidrAddress(r.cidr)}${r.enforced ? '' : ' — NOT in every network ACL'}`,
      );
      lines.push(
        `${written.length} of ${results.length} address(es) banned; enforcer (one run):`,
        ...enforcementLines(report),
      );
      printLines(lines);
    }
    if (!report.dryRun && withEnforced.some((r) => r.enforced === false)) {
      process.exitCode = ExitCode.NotEnforced;
    } else if (results.some((r) => r.status === 'refused')) process.exitCode = ExitCode.Refused;
  });
}
