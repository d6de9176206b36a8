/** Planner properties over random NACL states and ban sets (fast-check). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultDenyEntries } from '../../../lambda/adapters/memory-network-acls.js';
import type { Ban } from '../../../lambda/core/ban.js';
import { SIP_DENY } from '../../../lambda/core/deny-spec.js';
import {
  type AclEntry,
  applyMutation,
  inBand,
  matchKey,
} from '../../../lambda/core/enforcement/acl-entries.js';
import { desiredBans } from '../../../lambda/core/enforcement/desired-bans.js';
import { type PlanTarget, planNacl } from '../../../lambda/core/enforcement/plan-nacl.js';
import { aBan, T0 } from './helpers.js';

const TARGET: PlanTarget = {
  naclId: 'acl-0123456789abcdef0',
  ipv4Band: { first: 1, last: 10 },
  ipv6Band: { first: 11, last: 20 },
  adoptForeign: false,
};

const v4 = fc.integer({ min: 1, max: 30 }).map((i) => `203.0.113.${i}/32`);
const v6 = fc.integer({ min: 1, max: 30 }).map((i) => `2001:db8::${i.toString(16)}/128`);
const cidr = fc.oneof(v4, v6);

const banArb: fc.Arbitrary<Ban> = fc
  .record({
    cidr,
    jail: fc.constantFrom('sip', 'all', 'manual'),
    failures: fc.integer({ min: 0, max: 50 }),
    expired: fc.boolean(),
  })
  .map((b) =>
    aBan({
      cidr: b.cidr,
      jail: b.jail,
      failures: b.failures,
      source: b.jail === 'manual' ? 'manual' : 'detector',
      expiresAt: b.expired ? T0 - 1 : T0 + 1000,
    }),
  );

const entryArb: fc.Arbitrary<AclEntry> = fc.record({
  ruleNumber: fc.integer({ min: 1, max: 40 }),
  egress: fc.boolean(),
  ruleAction: fc.constantFrom('allow' as const, 'deny' as const),
  protocol: fc.constantFrom('-1', '6', '17'),
  cidr,
  portRange: fc.constant({ from: 5060, to: 5061 }),
});

/** A valid NACL: numbers unique per direction, within the quota per family. */
const aclArb = fc.array(entryArb, { maxLength: 30 }).map((entries) => {
  const seen = new Set<string>();
  const count = new Map<string, number>();
  const out: AclEntry[] = [...defaultDenyEntries()];
  for (const e of entries) {
    const slot = `${e.egress}:${e.ruleNumber}`;
    const fam = `${e.egress}:${e.cidr.includes(':')}`;
    if (seen.has(slot) || (count.get(fam) ?? 1) >= 20) continue;
    seen.add(slot);
    count.set(fam, (count.get(fam) ?? 1) + 1);
    out.push(e.protocol === '-1' ? { ...e, portRange: undefined } : e);
  }
  return out.map(({ portRange, ...rest }) => (portRange ? { ...rest, portRange } : rest));
});

function plan(bans: readonly Ban[], entries: readonly AclEntry[], target = TARGET) {
  const { desired } = desiredBans(bans, (j) => (j === 'sip' ? SIP_DENY : undefined), T0);
  return planNacl({ target, entries, ruleQuota: 20, desired, knownCidrs: new Set() });
}

describe('planNacl properties', () => {
  it('one application converges: no further mutation, nothing outside the bands changed, no duplicate', () => {
    fc.assert(
      fc.property(
        fc.array(banArb, { maxLength: 25 }),
        aclArb,
        fc.boolean(),
        (bans, entries, adoptForeign) => {
          const target = { ...TARGET, adoptForeign };
          const first = plan(bans, entries, target);
          let state = [...entries];
          for (const m of first.mutations) {
            const band = m.ruleNumber <= 10 ? TARGET.ipv4Band : TARGET.ipv6Band;
            expect(inBand(m.ruleNumber, band)).toBe(true);
            expect(m.entry?.egress ?? m.previous?.egress).toBe(false);
            state = applyMutation(state, m);
          }
          const outsideBefore = entries.filter((e) => e.egress || e.ruleNumber > 20);
          const outsideAfter = state.filter((e) => e.egress || e.ruleNumber > 20);
          expect(outsideAfter).toEqual(expect.arrayContaining(outsideBefore));
          expect(outsideAfter).toHaveLength(outsideBefore.length);
          const second = plan(bans, state, target);
          expect(second.mutations).toEqual([]);
          const denies = state.filter(
            (e) => !e.egress && e.ruleNumber <= 20 && e.ruleAction === 'deny',
          );
          expect(new Set(denies.map(matchKey)).size).toBe(denies.length);
          // Every selected ban is in place, and quota per family holds.
          expect(second.ipv4.inPlace).toHaveLength(second.ipv4.selected.length);
          expect(second.ipv6.inPlace).toHaveLength(second.ipv6.selected.length);
          for (const fam of [false, true]) {
            const n = state.filter((e) => !e.egress && e.cidr.includes(':') === fam).length;
            expect(n).toBeLessThanOrEqual(20);
          }
        },
      ),
      { numRuns: 300, seed: 20261202 },
    );
  });

  it('an entry is never unblocked in between: creates and replaces come before every delete', () => {
    fc.assert(
      fc.property(fc.array(banArb, { maxLength: 25 }), aclArb, (bans, entries) => {
        const ops = plan(bans, entries).mutations.map((m) => m.op);
        const firstDelete = ops.indexOf('delete');
        if (firstDelete >= 0)
          expect(ops.slice(firstDelete).every((o) => o === 'delete')).toBe(true);
      }),
      { numRuns: 200, seed: 7 },
    );
  });
});
