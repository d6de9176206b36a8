/**
 * In-memory NetworkAclPort: the unit-test twin of the EC2 adapter, with EC2's semantics:
 * - every ACL starts with the default denies (`*`: 32767 IPv4 `0.0.0.0/0`, 32768 IPv6 `::/0`, each
 *   direction) unless entries are given;
 * - rule numbers 1-32766, unique per direction (IPv4 and IPv6 share the numbering);
 * - quota per direction per family, default deny included (NaclEntryLimitError);
 * - CIDRs stored canonical (EC2 canonicalises `100.68.0.18/18` to `100.68.0.0/18`);
 * - the domain errors: NaclNotFoundError, NaclEntryExistsError, NaclEntryNotFoundError,
 *   NaclEntryLimitError; plus injectable faults (throttling) through {@link MemoryNetworkAcls.fault}.
 * Counts calls, so tests can assert request budgets.
 */
import { familyOf, MAX_USER_RULE } from '../core/enforcement/acl-entries.js';
import {
  NaclEntryExistsError,
  NaclEntryLimitError,
  NaclEntryNotFoundError,
  NaclNotFoundError,
} from '../core/errors.js';
import { parseCidr } from '../core/ip-address.js';
import type { NaclEntry, NetworkAcl, NetworkAclPort } from '../ports/network-acls.js';

export type NaclOperation = 'describe' | 'create' | 'replace' | 'delete';

export interface MemoryNetworkAclsOptions {
  readonly acls?: readonly { readonly naclId: string; readonly entries?: readonly NaclEntry[] }[];
  /** Rules per direction per family, default deny included (default 20). */
  readonly ruleQuota?: number;
}

/** The default denies of a new ACL, both directions and families. */
export function defaultDenyEntries(): NaclEntry[] {
  return [false, true].flatMap((egress) => [
    { ruleNumber: 32767, egress, ruleAction: 'deny', protocol: '-1', cidr: '0.0.0.0/0' } as const,
    { ruleNumber: 32768, egress, ruleAction: 'deny', protocol: '-1', cidr: '::/0' } as const,
  ]);
}

export class MemoryNetworkAcls implements NetworkAclPort {
  private readonly acls = new Map<string, NaclEntry[]>();
  readonly ruleQuota: number;
  readonly calls: Record<NaclOperation, number> = { describe: 0, create: 0, replace: 0, delete: 0 };
  /**
   * Called before every operation; an error it returns is thrown instead of performing the call
   * (e.g. `new Ec2ThrottledError(...)` to simulate RequestLimitExceeded).
   */
  fault: ((op: NaclOperation, naclId: string) => Error | undefined) | undefined;

  constructor(options: MemoryNetworkAclsOptions = {}) {
    this.ruleQuota = options.ruleQuota ?? 20;
    for (const acl of options.acls ?? []) this.addAcl(acl.naclId, acl.entries);
  }

  /** Adds an ACL with these entries (default: only the default denies). */
  addAcl(naclId: string, entries: readonly NaclEntry[] = defaultDenyEntries()): void {
    this.acls.set(
      naclId,
      entries.map((e) => this.canonical(naclId, e)),
    );
  }

  /** Current entries of an ACL, by direction then rule number. */
  entries(naclId: string): NaclEntry[] {
    return [...this.acl(naclId)].sort(
      (a, b) => Number(a.egress) - Number(b.egress) || a.ruleNumber - b.ruleNumber,
    );
  }

  async describe(naclIds: readonly string[]): Promise<readonly NetworkAcl[]> {
    for (const id of naclIds) this.check('describe', id);
    this.calls.describe++;
    return naclIds.map((naclId) => ({ naclId, entries: this.entries(naclId) }));
  }

  async createEntry(naclId: string, entry: NaclEntry): Promise<void> {
    this.check('create', naclId);
    this.calls.create++;
    const list = this.acl(naclId);
    const e = this.canonical(naclId, entry);
    this.userRule(e.ruleNumber);
    if (list.some((x) => x.ruleNumber === e.ruleNumber && x.egress === e.egress)) {
      throw new NaclEntryExistsError(naclId, e.ruleNumber);
    }
    if (this.countOf(list, e) >= this.ruleQuota) throw new NaclEntryLimitError(naclId);
    list.push(e);
  }

  async replaceEntry(naclId: string, entry: NaclEntry): Promise<void> {
    this.check('replace', naclId);
    this.calls.replace++;
    const list = this.acl(naclId);
    const e = this.canonical(naclId, entry);
    this.userRule(e.ruleNumber);
    const i = list.findIndex((x) => x.ruleNumber === e.ruleNumber && x.egress === e.egress);
    const old = list[i];
    if (i < 0 || !old) throw new NaclEntryNotFoundError(naclId, e.ruleNumber);
    if (familyOf(old) !== familyOf(e) && this.countOf(list, e) >= this.ruleQuota) {
      throw new NaclEntryLimitError(naclId);
    }
    list[i] = e;
  }

  async deleteEntry(naclId: string, ruleNumber: number, egress: boolean): Promise<void> {
    this.check('delete', naclId);
    this.calls.delete++;
    const list = this.acl(naclId);
    this.userRule(ruleNumber);
    const i = list.findIndex((x) => x.ruleNumber === ruleNumber && x.egress === egress);
    if (i < 0) throw new NaclEntryNotFoundError(naclId, ruleNumber);
    list.splice(i, 1);
  }

  private check(op: NaclOperation, naclId: string): void {
    const error = this.fault?.(op, naclId);
    if (error) throw error;
    this.acl(naclId);
  }

  private acl(naclId: string): NaclEntry[] {
    const list = this.acls.get(naclId);
    if (!list) throw new NaclNotFoundError(naclId);
    return list;
  }

  private countOf(list: readonly NaclEntry[], e: NaclEntry): number {
    const family = familyOf(e);
    return list.filter((x) => x.egress === e.egress && familyOf(x) === family).length;
  }

  private userRule(ruleNumber: number): void {
    if (!Number.isInteger(ruleNumber) || ruleNumber < 1 || ruleNumber > MAX_USER_RULE) {
      throw new RangeError(`rule number ${ruleNumber} is not within 1-${MAX_USER_RULE}`);
    }
  }

  private canonical(naclId: string, e: NaclEntry): NaclEntry {
    const cidr = parseCidr(e.cidr);
    if (!cidr)
      throw new RangeError(`network ACL ${naclId}: ${JSON.stringify(e.cidr)} is not a CIDR`);
    const ports = e.protocol === '6' || e.protocol === '17';
    return {
      ruleNumber: e.ruleNumber,
      egress: e.egress,
      ruleAction: e.ruleAction,
      protocol: e.protocol,
      cidr: cidr.text,
      ...(ports && e.portRange
        ? { portRange: { from: e.portRange.from, to: e.portRange.to } }
        : {}),
    };
  }
}
