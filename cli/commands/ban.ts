/**
 * `cloudjail ban <ip|cidr> [--jail J] [--for D | --permanent] [--reason R] [--force]`: writes the
 * ban (desired state), runs the enforcer, waits for it and prints where the range is denied and
 * which bans it displaced from a NACL.
 * - A range overlapping the allowlist is always refused (exit 3): `--force` never overrides it
 *   (the enforcer refuses such a ban anyway).
 * - A range broader than /24 (IPv4) or /64 (IPv6) needs `--force`; one broader than the enforcer's
 *   `enforcement.minBanPrefix` (default /16, /48) is refused even with it (exit 3).
 * - Written but not in every NACL (no capacity, a NACL error): exit 5.
 * - Written but the enforcer could not run now (throttled after retries, unreachable, lease held):
 *   "recorded, not yet enforced", exit 8.
 */
import type { Command } from 'commander';
import { isBanActive, MANUAL_JAIL } from '../../lambda/core/ban.js';
import type { Cidr } from '../../lambda/core/ip-address.js';
import { PERMANENT } from '../../lambda/core/policy/duration.js';
import type { EnforcementReport } from '../../lambda/use-cases/enforce-bans.js';
import { enforcementView, placementOf } from '../../lambda/use-cases/jail-status.js';
import { manualBan } from '../../lambda/use-cases/manual-ban.js';
import { readAddressList } from '../address-list.js';
import {
  addConnectionOptions,
  type ConnectionOptions,
  EnforcementPendingError,
  withContext,
} from '../context.js';
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

/** Prefixes shorter than these need --force: they cut off more than one /24 (or /64). */
const BROADEST = { 4: 24, 6: 64 } as const;

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
      .option(
        '--force',
        'allow a range broader than /24 (IPv4) or /64 (IPv6), down to enforcement.minBanPrefix; never overrides the allowlist',
      )
      .option('--json', 'one JSON object on stdout: {"status", "ban", "enforcement"}'),
  )
    .addHelpText(
      'after',
      '\nExit codes: 0 banned and enforced (or already banned), 2 bad input, 3 refused (allowlisted, or too broad),\n4 unknown jail, 5 banned but not enforced in every NACL, 8 recorded, not yet enforced (enforcer busy or\nunreachable: the next scheduled run enforces it), 1 store/AWS/enforcer error.',
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

/** The enforcer's floor (enforcement.minBanPrefix): no --force goes below it. */
function checkMinPrefix(cidr: Cidr, min: { ipv4: number; ipv6: number } | undefined): void {
  const floor = cidr.family === 4 ? (min?.ipv4 ?? 16) : (min?.ipv6 ?? 48);
  if (cidr.prefix < floor) {
    throw new CliError(
      `refusing to ban ${cidr.text}: broader than /${floor}, the enforcer's minimum prefix (enforcement.minBanPrefix.ipv${cidr.family}); the enforcer refuses such a ban even with --force`,
      ExitCode.Refused,
    );
  }
}

/** True when the ban (cidr, jail) is enforced in every target NACL of the report. */
export function enforcedEverywhere(report: EnforcementReport, cidr: string, jail: string): boolean {
  return placementOf(enforcementView(report), { cidr, jail }).enforcedEverywhere;
}

/** A ban this run removed from a NACL to make room (it is now not enforced there). */
export interface DisplacedBan {
  readonly cidr: string;
  readonly naclId: string;
  readonly ruleNumber: number;
}

export function displacedBans(report: EnforcementReport): DisplacedBan[] {
  return report.nacls.flatMap((n) =>
    n.mutations
      .filter((m) => m.status === 'applied' && m.reason === 'evicted')
      .flatMap((m) => {
        const cidr = m.op === 'replace' ? m.replaces : m.cidr;
        return cidr ? [{ cidr, naclId: n.naclId, ruleNumber: m.ruleNumber }] : [];
      }),
  );
}

function allowlistText(hits: readonly { cidr: string; source: string; jail?: string }[]): string {
  return hits
    .map(
      (h) =>
        `${h.cidr} (${h.source === 'runtime' ? `ignore list${h.jail ? ` of jail ${h.jail}` : ''}` : h.source === 'jail' ? `jail ${h.jail} ignoreip` : 'ignoreip'})`,
    )
    .join(', ');
}

async function runBan(address: string, options: BanOptions): Promise<void> {
  const cidr = cidrArgument(address);
  const duration = banDuration(options);
  checkBreadth(cidr, options.force);
  await withContext(options, async (ctx) => {
    checkMinPrefix(cidr, ctx.config.enforcement.minBanPrefix);
    const outcome = await manualBan(
      {
        cidr,
        ...(options.jail !== undefined ? { jail: options.jail } : {}),
        ...(duration !== undefined ? { duration } : {}),
        ...(options.reason !== undefined ? { reason: options.reason } : {}),
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
      throw new CliError(
        `refusing to ban ${cidr.text}: it overlaps the allowlist: ${allowlistText(outcome.allowlist)}; ${
          options.force
            ? '--force does not override the allowlist (the enforcer refuses every ban that overlaps it)'
            : 'the enforcer never denies an allowlisted address'
        }: remove the entry first (\`cloudjail ignore del\`, or ignoreip in the configuration)`,
        ExitCode.Refused,
      );
    }
    const now = ctx.now();
    let report: EnforcementReport;
    try {
      report = await ctx.enforce(`cloudjail ban ${cidr.text}`);
    } catch (e) {
      if (!(e instanceof EnforcementPendingError)) throw e;
      if (options.json) {
        printJson({
          status: outcome.status,
          ban: outcome.ban,
          enforced: false,
          pending: e.why,
          enforcement: null,
        });
      } else {
        printLines([
          `${outcome.status === 'banned' ? 'banned' : 'already banned:'} ${banLine(outcome.ban, now)}`,
          `recorded, not yet enforced: ${e.why}`,
          'the next scheduled enforcer run enforces it; check with `cloudjail status`',
        ]);
      }
      process.stderr.write(`cloudjail: ${cidr.text} is recorded, not yet enforced (${e.why})\n`);
      process.exitCode = ExitCode.Pending;
      return;
    }
    const enforced = enforcedEverywhere(report, cidr.text, outcome.ban.jail);
    const now2 = ctx.now();
    const displaced = await Promise.all(
      displacedBans(report).map(async (d) => ({
        ...d,
        jails: (await ctx.store.bansOf(d.cidr))
          .filter((b) => isBanActive(b, now2))
          .map((b) => b.jail),
      })),
    );
    const refusal = report.refusedBans.find(
      (r) => r.cidr === cidr.text && r.jail === outcome.ban.jail,
    );
    if (options.json) {
      printJson({
        status: outcome.status,
        ban: outcome.ban,
        enforced,
        enforcement: report,
        placement: placementOf(enforcementView(report), outcome.ban),
        displaced,
      });
    } else {
      const lines = [
        outcome.status === 'banned'
          ? `banned ${banLine(outcome.ban, now)}`
          : `already banned: ${banLine(outcome.ban, now)}`,
      ];
      const where = denyLocations(report, cidr.text);
      lines.push(
        where.length > 0
          ? `denied in ${where.join(', ')}`
          : report.dryRun
            ? 'not written to any NACL: enforcement is in dry-run mode'
            : `${cidrAddress(cidr.text)} is NOT in any network ACL yet (see below)`,
      );
      for (const d of displaced) {
        lines.push(
          `displaced ${cidrAddress(d.cidr)}${d.jails.length > 0 ? ` [${d.jails.join(', ')}]` : ''} from ${d.naclId} rule ${d.ruleNumber} (it ranks lower; now NOT enforced there)`,
        );
      }
      if (refusal) lines.push(`REFUSED by the enforcer: ${refusal.reason}`);
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
    let report: EnforcementReport;
    try {
      report = await ctx.enforce(`cloudjail ban --file (${written.length} address(es))`);
    } catch (e) {
      if (!(e instanceof EnforcementPendingError)) throw e;
      if (options.json) printJson({ results, enforced: false, pending: e.why, enforcement: null });
      else {
        printLines([
          ...results.map((r) => `${r.status} ${cidrAddress(r.cidr)}`),
          `recorded, not yet enforced: ${e.why}`,
          'the next scheduled enforcer run enforces them; check with `cloudjail status`',
        ]);
      }
      process.exitCode = ExitCode.Pending;
      return;
    }
    const jail = options.jail ?? MANUAL_JAIL;
    const withEnforced = results.map((r) => ({
      ...r,
      ...(r.status !== 'refused' ? { enforced: enforcedEverywhere(report, r.cidr, jail) } : {}),
    }));
    if (options.json) printJson({ results: withEnforced, enforcement: report });
    else {
      const lines = withEnforced.map((r) =>
        r.status === 'refused'
          ? `refused ${cidrAddress(r.cidr)}: allowlisted by ${r.allowlist?.join(', ')} (never banned: remove the allowlist entry first)`
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
