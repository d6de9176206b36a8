import { describe, expect, it } from 'vitest';
import {
  defaultDenyEntries,
  MemoryNetworkAcls,
} from '../../../lambda/adapters/memory-network-acls.js';
import {
  NaclEntryExistsError,
  NaclEntryLimitError,
  NaclEntryNotFoundError,
  NaclNotFoundError,
} from '../../../lambda/core/errors.js';
import { deny } from './helpers.js';

const ACL = 'acl-0123456789abcdef0';

describe('MemoryNetworkAcls (the EC2 twin)', () => {
  it('starts with the default denies of both families and directions', async () => {
    const acls = new MemoryNetworkAcls({ acls: [{ naclId: ACL }] });
    const [acl] = await acls.describe([ACL]);
    expect(acl?.entries).toEqual(
      [...defaultDenyEntries()].sort(
        (a, b) => Number(a.egress) - Number(b.egress) || a.ruleNumber - b.ruleNumber,
      ),
    );
  });

  it('throws NaclNotFoundError for an unknown ACL, on every operation', async () => {
    const acls = new MemoryNetworkAcls();
    await expect(acls.describe([ACL])).rejects.toBeInstanceOf(NaclNotFoundError);
    await expect(acls.createEntry(ACL, deny(1, '203.0.113.1/32'))).rejects.toBeInstanceOf(
      NaclNotFoundError,
    );
    await expect(acls.deleteEntry(ACL, 1, false)).rejects.toBeInstanceOf(NaclNotFoundError);
  });

  it('keeps rule numbers unique per direction, shared by both families', async () => {
    const acls = new MemoryNetworkAcls({ acls: [{ naclId: ACL }] });
    await acls.createEntry(ACL, deny(1, '203.0.113.1/32'));
    await expect(acls.createEntry(ACL, deny(1, '2001:db8::1/128'))).rejects.toBeInstanceOf(
      NaclEntryExistsError,
    );
    await acls.createEntry(ACL, { ...deny(1, '203.0.113.1/32'), egress: true });
    expect(acls.entries(ACL).filter((e) => e.ruleNumber === 1)).toHaveLength(2);
  });

  it('counts the quota per direction and per family, default deny included', async () => {
    const acls = new MemoryNetworkAcls({ acls: [{ naclId: ACL }], ruleQuota: 3 });
    await acls.createEntry(ACL, deny(1, '203.0.113.1/32'));
    await acls.createEntry(ACL, deny(2, '203.0.113.2/32'));
    await expect(acls.createEntry(ACL, deny(3, '203.0.113.3/32'))).rejects.toBeInstanceOf(
      NaclEntryLimitError,
    );
    // IPv6 and outbound have their own counts.
    await acls.createEntry(ACL, deny(3, '2001:db8::3/128'));
    await acls.createEntry(ACL, { ...deny(4, '203.0.113.4/32'), egress: true });
    // A replace that changes family needs room in the new family.
    await expect(acls.replaceEntry(ACL, deny(3, '203.0.113.9/32'))).rejects.toBeInstanceOf(
      NaclEntryLimitError,
    );
  });

  it('replaces and deletes only existing numbers', async () => {
    const acls = new MemoryNetworkAcls({ acls: [{ naclId: ACL }] });
    await expect(acls.replaceEntry(ACL, deny(5, '203.0.113.5/32'))).rejects.toBeInstanceOf(
      NaclEntryNotFoundError,
    );
    await expect(acls.deleteEntry(ACL, 5, false)).rejects.toBeInstanceOf(NaclEntryNotFoundError);
    await acls.createEntry(ACL, deny(5, '203.0.113.5/32'));
    await acls.replaceEntry(ACL, deny(5, '203.0.113.6/32'));
    expect(acls.entries(ACL).find((e) => e.ruleNumber === 5)?.cidr).toBe('203.0.113.6/32');
    await acls.deleteEntry(ACL, 5, false);
    expect(acls.entries(ACL).some((e) => e.ruleNumber === 5)).toBe(false);
    // Every request counts, failed ones included.
    expect(acls.calls).toEqual({ describe: 0, create: 1, replace: 2, delete: 2 });
  });

  it('stores canonical CIDRs and rejects numbers outside 1-32766', async () => {
    const acls = new MemoryNetworkAcls({ acls: [{ naclId: ACL }] });
    await acls.createEntry(ACL, deny(1, '100.68.0.18/18'));
    await acls.createEntry(ACL, deny(2, '2001:DB8:0:0::1/64'));
    const cidrs = acls
      .entries(ACL)
      .filter((e) => e.ruleNumber < 3)
      .map((e) => e.cidr);
    expect(cidrs).toEqual(['100.68.0.0/18', '2001:db8::/64']);
    await expect(acls.createEntry(ACL, deny(0, '203.0.113.1/32'))).rejects.toThrow(/1-32766/);
    await expect(acls.createEntry(ACL, deny(32767, '203.0.113.1/32'))).rejects.toThrow(/1-32766/);
    await expect(acls.createEntry(ACL, deny(3, 'example.com'))).rejects.toThrow(/not a CIDR/);
  });

  it('injects faults before performing a call', async () => {
    const acls = new MemoryNetworkAcls({ acls: [{ naclId: ACL }] });
    acls.fault = (op) => (op === 'create' ? new Error('throttled') : undefined);
    await expect(acls.createEntry(ACL, deny(1, '203.0.113.1/32'))).rejects.toThrow('throttled');
    expect(acls.entries(ACL).some((e) => e.ruleNumber === 1)).toBe(false);
    expect(acls.calls.create).toBe(0);
  });
});
