/**
 * Validation of command-line input: each error names the option or argument and the bad value
 * (exit code 2).
 */
import { type Cidr, parseCidr } from '../lambda/core/ip-address.js';
import { PERMANENT, parseDuration } from '../lambda/core/policy/duration.js';
import { CliError } from './exit-codes.js';

/** An IPv4/IPv6 address or CIDR; DNS names are refused (cloudjail never resolves them). */
export function cidrArgument(text: string, what = 'address'): Cidr {
  const cidr = parseCidr(text);
  if (!cidr) {
    const dns = /[a-z]/i.test(text) && !text.includes(':');
    throw new CliError(
      `${what}: ${JSON.stringify(text)} is not an IP address or CIDR${dns ? ' (DNS names are not resolved)' : ''}`,
    );
  }
  return cidr;
}

/** A fail2ban duration (600, 10m, 1h, 1d12h); `allowPermanent` also accepts -1. */
export function durationOption(text: string, option: string, allowPermanent = false): number {
  const ms = parseDuration(text);
  if (ms === undefined || (ms === PERMANENT && !allowPermanent)) {
    throw new CliError(
      `${option}: ${JSON.stringify(text)} is not a duration (e.g. 600, 10m, 1h, 1d12h${allowPermanent ? ', -1' : ''})`,
    );
  }
  if (ms === 0) throw new CliError(`${option}: must be longer than 0`);
  return ms;
}

/** A whole number >= `min`. */
export function integerOption(text: string, option: string, min = 1): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min) {
    throw new CliError(`${option}: ${JSON.stringify(text)} must be a whole number >= ${min}`);
  }
  return Number(text);
}

/** Writes one JSON document as a line on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Writes lines on stdout. */
export function printLines(lines: readonly string[]): void {
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
}
