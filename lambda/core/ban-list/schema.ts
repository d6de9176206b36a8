/**
 * The published ban list: the contract between the enforcer (the only writer, through the
 * ban-list publisher port) and the host agent on every SBC (the reader). One JSON document,
 * stored gzip-compressed as one S3 object; documented in docs/enforcement.md.
 *
 * Shape (schema version 1):
 *
 * ```json
 * {
 *   "schema": "cloudjail.ban-list",
 *   "schemaVersion": 1,
 *   "serial": 42,
 *   "generatedAt": 1733380336000,
 *   "allowlist": [{ "cidr": "192.0.2.0/28", "jails": null }],
 *   "groups": [
 *     {
 *       "jails": ["freeswitch"],
 *       "deny": { "kind": "ports", "ports": [{ "from": 5060, "to": 5061 }], "protocols": ["tcp", "udp"] },
 *       "verdict": "drop",
 *       "bans": [["203.0.113.7/32", 1733383936000], ["198.51.100.0/24", null]]
 *     }
 *   ]
 * }
 * ```
 *
 * - `serial` only grows: a reader never applies a list whose serial is lower than the one it
 *   applied (a stale or replayed object).
 * - Bans are grouped by what they deny (jails, deny spec, verdict) so a million bans cost one
 *   `[cidr, expiresAt]` pair each. `expiresAt` is epoch ms, `null` = permanent. A CIDR appears at
 *   most once per group; the same CIDR may appear in several groups (banned in several jails with
 *   different deny specs).
 * - `allowlist`: the configuration's `ignoreip` plus the runtime ignores. `jails: null` = every
 *   jail. A reader lets allowlisted sources through before any drop rule.
 * - Only active bans are listed (expiresAt > generatedAt, or null); the enforcer has already
 *   refused every ban that overlaps the allowlist or is broader than the minimum prefix.
 *
 * Pure types and constants: no I/O.
 */
import type { DenySpec } from '../deny-spec.js';

export const BAN_LIST_SCHEMA = 'cloudjail.ban-list';
export const BAN_LIST_SCHEMA_VERSION = 1;

/** How a host drops a banned source: silently (default) or with ICMP port-unreachable / TCP reset. */
export type BanVerdict = 'drop' | 'reject';

/** One banned CIDR: canonical CIDR (core/ip-address.ts) and expiry (epoch ms, null = permanent). */
export type PublishedBan = readonly [cidr: string, expiresAt: number | null];

export interface BanListGroup {
  /** Jails whose bans share this deny spec and verdict (sorted). */
  readonly jails: readonly string[];
  readonly deny: DenySpec;
  readonly verdict: BanVerdict;
  readonly bans: readonly PublishedBan[];
}

export interface AllowlistEntry {
  readonly cidr: string;
  /** Jails the entry applies to; null = every jail. */
  readonly jails: readonly string[] | null;
}

export interface BanList {
  readonly schema: typeof BAN_LIST_SCHEMA;
  readonly schemaVersion: typeof BAN_LIST_SCHEMA_VERSION;
  /** Grows with every publication that changed the content. */
  readonly serial: number;
  /** Epoch ms when the enforcer made the list. */
  readonly generatedAt: number;
  readonly allowlist: readonly AllowlistEntry[];
  readonly groups: readonly BanListGroup[];
}
