/**
 * `npm run bench:enforcer`: one enforcer run (the enforce-bans use case) end to end through the
 * real AWS SDK v3 clients — the EC2 network ACL adapter against the local EC2 endpoint (EC2 Query
 * API over HTTP on 127.0.0.1) and the DynamoDB ban store against dynalite — for 1, 18 and 38 active
 * bans (38 = the most a NACL at the maximum quota of 40 holds next to one allow rule).
 *
 * Three runs per size, each measured: `fill` (empty band → N creates), `steady` (nothing to do: the
 * scheduled run's usual case) and `swap` (the N bans expire and N new ones arrive → N replaces, N
 * swept). Prints ms per run (median of BENCH_REPEAT fresh worlds, default 7) and mutations.
 */
import { cpus, totalmem } from 'node:os';
import { DynamoDbBanStore } from '../lambda/adapters/dynamodb-ban-store.js';
import { Ec2NetworkAcls } from '../lambda/adapters/ec2-network-acls.js';
import { ENFORCEMENT_DEFAULTS } from '../lambda/config/target-config.js';
import type { Ban } from '../lambda/core/ban.js';
import {
  type EnforceBansDeps,
  type EnforcementReport,
  enforceBans,
} from '../lambda/use-cases/enforce-bans.js';
import { sampleAcl, startLocalEc2 } from '../local/ec2-endpoint.js';
import { startEmbeddedDynamoDb } from '../local/embedded-dynamodb.js';

const ACL = 'acl-0b0e0c0d0a0b0c0d0';
const SIZES = [1, 18, 38];
const REPEAT = Number(process.env.BENCH_REPEAT ?? 7);
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const MINUTE = 60_000;

function bans(n: number, offset: number, expiresAt: number): Ban[] {
  return Array.from({ length: n }, (_, i) => ({
    jail: 'sip',
    cidr: `198.51.${offset}.${i + 1}/32`,
    createdAt: T0,
    expiresAt,
    source: 'detector' as const,
    failures: 5 + i,
    banCount: 1,
  }));
}

interface Sample {
  readonly ms: number;
  /** Part of `ms` spent in the ban store (listBans + markExpired on dynalite). */
  readonly storeMs: number;
  readonly report: EnforcementReport;
}

async function timed(deps: EnforceBansDeps): Promise<Sample> {
  let storeMs = 0;
  const timedStore: EnforceBansDeps['store'] = {
    listIgnores: () => deps.store.listIgnores(),
    listBans: async () => {
      const t = performance.now();
      try {
        return await deps.store.listBans();
      } finally {
        storeMs += performance.now() - t;
      }
    },
    markExpired: async (bans, now) => {
      const t = performance.now();
      try {
        await deps.store.markExpired(bans, now);
      } finally {
        storeMs += performance.now() - t;
      }
    },
  };
  const started = performance.now();
  const report = await enforceBans({ ...deps, store: timedStore });
  return { ms: performance.now() - started, storeMs, report };
}

async function world(n: number): Promise<Record<'fill' | 'steady' | 'swap', Sample>> {
  const ec2 = await startLocalEc2({ acls: [sampleAcl(ACL)], ruleQuota: 40 });
  const db = await startEmbeddedDynamoDb();
  try {
    const store = new DynamoDbBanStore(db.client(), db.tableName);
    for (const b of bans(n, 0, T0 + 10 * MINUTE)) await store.putBan(b, T0, undefined);
    const clock = { now: T0 };
    const deps: EnforceBansDeps = {
      store,
      nacls: new Ec2NetworkAcls({ client: ec2.client() }),
      jails: [{ name: 'sip', deny: { kind: 'all' } }],
      ignoreip: [],
      targets: [
        {
          naclId: ACL,
          ipv4Band: { first: 1, last: 38 },
          ipv6Band: { first: 39, last: 76 },
          direction: 'inbound',
          adoptForeign: false,
        },
      ],
      settings: { ...ENFORCEMENT_DEFAULTS, ruleQuota: 40 },
      now: () => clock.now,
      sleep: async () => {},
    };
    const fill = await timed(deps);
    clock.now = T0 + MINUTE;
    const steady = await timed(deps);
    clock.now = T0 + 11 * MINUTE;
    for (const b of bans(n, 1, T0 + 60 * MINUTE)) await store.putBan(b, clock.now, undefined);
    const swap = await timed(deps);
    for (const [name, s] of Object.entries({ fill, steady, swap })) {
      const nacl = s.report.nacls[0];
      if (nacl?.error || nacl?.ipv4.enforced !== n || nacl.ipv4.pending !== 0) {
        throw new Error(`${name} run with ${n} bans did not converge: ${JSON.stringify(nacl)}`);
      }
    }
    if (swap.report.swept !== n) throw new Error(`swap run swept ${swap.report.swept}, not ${n}`);
    return { fill, steady, swap };
  } finally {
    await ec2.stop();
    await db.stop();
  }
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function main(): Promise<void> {
  console.log(
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  );
  console.log(`Date: ${new Date().toISOString().slice(0, 10)}; median of ${REPEAT} fresh worlds\n`);
  await world(1); // warm-up: module loading, SDK initialisation, JIT
  console.log(
    '| active bans | run | ms (median) | ms (min–max) | of which store ms (median) | mutations | EC2 calls |',
  );
  console.log('|---:|---|---:|---:|---:|---:|---:|');
  for (const n of SIZES) {
    const runs: Record<'fill' | 'steady' | 'swap', Sample>[] = [];
    for (let i = 0; i < REPEAT; i++) runs.push(await world(n));
    for (const name of ['fill', 'steady', 'swap'] as const) {
      const ms = runs.map((r) => r[name].ms);
      const storeMs = median(runs.map((r) => r[name].storeMs));
      const report = runs[0]![name].report;
      const ops = report.nacls[0]?.mutations.map((m) => m.op) ?? [];
      const kinds = ['create', 'replace', 'delete']
        .map((op) => [op, ops.filter((o) => o === op).length] as const)
        .filter(([, c]) => c > 0)
        .map(([op, c]) => `${c} ${op}`)
        .join(', ');
      // One DescribeNetworkAcls per NACL per run, plus one per mutation.
      console.log(
        `| ${n} | ${name} | ${median(ms).toFixed(1)} | ${Math.min(...ms).toFixed(1)}–${Math.max(...ms).toFixed(1)} | ${storeMs.toFixed(1)} | ${report.mutations}${kinds ? ` (${kinds})` : ''} | ${1 + report.mutations} |`,
      );
    }
  }
}

await main();
