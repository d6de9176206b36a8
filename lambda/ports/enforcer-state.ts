/**
 * The enforcer's own state in the table (docs/dynamodb.md, "Enforcer lease and learned quotas"):
 *
 * - a lease with an expiry and a fencing token, so that two runs that overlap (a run past its
 *   Lambda timeout still calling EC2, a second deployment, a manual invoke) never both mutate
 *   NACLs: a run acquires the lease BEFORE it reads desired state, and renews it (by token) before
 *   each NACL's mutations; a run that lost it stops mutating;
 * - the NACL rule quotas learned from `NetworkAclEntryLimitExceeded` (a real quota below the
 *   configured `ruleQuota`), so that every run, dry runs (`cloudjail status`) included, counts the
 *   bans that do not fit as not enforced.
 *
 * Implemented on DynamoDB (lambda/adapters/dynamodb-enforcer-state.ts) with conditional writes.
 */
import type { IpFamily } from '../core/ip-address.js';

export interface LeaseGrant {
  /** Fencing token: grows with every acquisition; only its holder can renew or release. */
  readonly token: number;
  /** Epoch ms the lease is held until (unless renewed). */
  readonly until: number;
}

export interface EnforcementLease {
  /** The lease if it is free or expired at `now`, else undefined. */
  acquire(now: number, durationMs: number): Promise<LeaseGrant | undefined>;
  /** Extends a lease still held with this token; undefined when it was lost (taken over). */
  renew(grant: LeaseGrant, now: number, durationMs: number): Promise<LeaseGrant | undefined>;
  /** Frees the lease if still held with this token (no-op otherwise). */
  release(grant: LeaseGrant): Promise<void>;
}

/** A rule quota EC2 enforced below the configured one, for one NACL and family. */
export interface LearnedQuota {
  readonly naclId: string;
  readonly family: IpFamily;
  /** Rules per direction for the family, default deny included. */
  readonly quota: number;
  /** Epoch ms when it was learned. */
  readonly learnedAt: number;
}

export interface NaclQuotaMemory {
  learnedQuotas(): Promise<readonly LearnedQuota[]>;
  recordQuota(quota: LearnedQuota): Promise<void>;
}

export type EnforcerStatePort = EnforcementLease & NaclQuotaMemory;
