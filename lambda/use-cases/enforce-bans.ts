/**
 * The enforce-bans use case (stub: full reconciliation lands next). See docs/enforcement.md.
 */
import type { JailConfig } from '../config/jail-config.js';
import type { EnforcementSettings, NaclTarget } from '../config/target-config.js';
import { isBanActive } from '../core/ban.js';
import type { PortRange } from '../core/deny-spec.js';
import type { BanExpiryRecorder, DesiredBanReader } from '../ports/ban-store.js';
import type { NaclEntry, NetworkAclPort } from '../ports/network-acls.js';

export interface EnforceBansDeps {
  readonly store: DesiredBanReader & BanExpiryRecorder;
  readonly nacls: NetworkAclPort;
  readonly jails: readonly JailConfig[];
  readonly targets: readonly NaclTarget[];
  readonly settings: EnforcementSettings;
  readonly now: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly logger?: EnforcementLogger;
}

export interface EnforcementLogger {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
}

export interface EnforceBansOptions {
  readonly dryRun?: boolean;
}

export interface FamilyReport {
  readonly capacity: number;
  readonly enforced: number;
  readonly pending: number;
  readonly notEnforced: number;
}

export interface ReportedEntry {
  readonly ruleNumber: number;
  readonly cidr: string;
  readonly protocol: string;
  readonly portRange?: PortRange;
}

export interface ReportedMutation {
  readonly op: 'create' | 'replace' | 'delete';
  readonly ruleNumber: number;
  readonly cidr?: string;
}

export interface NaclReport {
  readonly naclId: string;
  readonly ipv4: FamilyReport;
  readonly ipv6: FamilyReport;
  readonly entries: readonly ReportedEntry[];
  readonly mutations: readonly ReportedMutation[];
  readonly foreign: readonly NaclEntry[];
  readonly error?: string;
}

export interface EnforcementReport {
  readonly at: string;
  readonly dryRun: boolean;
  readonly activeBans: number;
  readonly notEnforced: number;
  readonly pending: number;
  readonly swept: number;
  readonly mutations: number;
  readonly throttles: number;
  readonly driftRepairs: number;
  readonly nacls: readonly NaclReport[];
}

export async function enforceBans(
  deps: EnforceBansDeps,
  options: EnforceBansOptions = {},
): Promise<EnforcementReport> {
  const now = deps.now();
  const bans = await deps.store.listBans();
  return {
    at: new Date(now).toISOString(),
    dryRun: options.dryRun ?? deps.settings.dryRun,
    activeBans: bans.filter((b) => isBanActive(b, now)).length,
    notEnforced: 0,
    pending: 0,
    swept: 0,
    mutations: 0,
    throttles: 0,
    driftRepairs: 0,
    nacls: [],
  };
}
