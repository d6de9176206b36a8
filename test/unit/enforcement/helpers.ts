/** Builders shared by the enforcement unit tests. */
import type { Ban } from '../../../lambda/core/ban.js';
import type { NaclEntry } from '../../../lambda/ports/network-acls.js';

export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
export const MINUTE = 60_000;

export function aBan(overrides: Partial<Ban> & { cidr: string }): Ban {
  return {
    jail: 'sip',
    createdAt: T0,
    expiresAt: T0 + 60 * MINUTE,
    source: 'detector',
    failures: 5,
    banCount: 1,
    ...overrides,
  };
}

/** n distinct IPv4 host bans, ranked by failures: ban i has n - i failures. */
export function hostBans(n: number, overrides: Partial<Ban> = {}): Ban[] {
  return Array.from({ length: n }, (_, i) =>
    aBan({
      cidr: `198.51.${Math.floor(i / 250)}.${(i % 250) + 1}/32`,
      failures: n - i,
      ...overrides,
    }),
  );
}

export function deny(ruleNumber: number, cidr: string, extra: Partial<NaclEntry> = {}): NaclEntry {
  return { ruleNumber, egress: false, ruleAction: 'deny', protocol: '-1', cidr, ...extra };
}

export function allow(ruleNumber: number, cidr: string, extra: Partial<NaclEntry> = {}): NaclEntry {
  return { ruleNumber, egress: false, ruleAction: 'allow', protocol: '-1', cidr, ...extra };
}
