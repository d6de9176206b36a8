import type { BanList, BanListGroup } from '../../../lambda/core/ban-list/schema.js';
import { SIP_DENY } from '../../../lambda/core/deny-spec.js';

export const NOW = 1_800_000_000_000;

export function banList(overrides: Partial<BanList> = {}, groups?: BanListGroup[]): BanList {
  return {
    schema: 'cloudjail.ban-list',
    schemaVersion: 1,
    serial: 7,
    generatedAt: NOW - 1000,
    allowlist: [{ cidr: '198.51.100.9/32', jails: null }],
    groups: groups ?? [
      {
        jails: ['freeswitch'],
        deny: SIP_DENY,
        verdict: 'drop',
        bans: [
          ['198.51.100.0/24', NOW + 60_000],
          ['203.0.113.7/32', null],
          ['2001:db8:1::2/128', NOW + 3_600_000],
        ],
      },
    ],
    ...overrides,
  };
}
