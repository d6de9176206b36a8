/**
 * `npm run bench:detector`: one CloudWatch Logs subscription payload (~8,000 FreeSWITCH events,
 * ~1 MB of JSON before gzip — a full CloudWatch batch) through the detector handler end to end:
 * base64 → gunzip → JSON → the built-in `freeswitch` filter → allowlist → per-(jail, address)
 * aggregation → DynamoDbBanStore on dynalite through the real @aws-sdk/client-dynamodb.
 *
 * The mix: benign call traffic and SIP challenges (noise), a few heavy scanners, a long tail of
 * light attackers, and a misconfigured carrier trunk on the allowlist. Three deliveries per fresh
 * table: **first** (bans created), **redelivery** (the same payload again, as CloudWatch/Lambda
 * retries do), **next** (the following batch: same attackers, new events, already banned). Also the
 * same payload with an in-memory store, to split CPU from store time. Every DynamoDB request is
 * counted by an SDK middleware. Prints a Markdown table; BENCH_REPEAT sets the number of runs.
 */
import { cpus } from 'node:os';
import { gzipSync } from 'node:zlib';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbBanStore } from '../lambda/adapters/dynamodb-ban-store.js';
import { createTableInput } from '../lambda/adapters/dynamodb-table.js';
import { loadBuiltinOrFileFilter } from '../lambda/adapters/filter-files.js';
import { MemoryBanStore } from '../lambda/adapters/memory-ban-store.js';
import { parseJails } from '../lambda/config/jail-config.js';
import { seededRandom } from '../lambda/core/seeded-random.js';
import { createDetectorHandler, type DetectorResult } from '../lambda/handlers/detector.js';
import type { BanStore } from '../lambda/ports/ban-store.js';
import { RecordingEnforcementTrigger } from '../lambda/ports/enforcement-trigger.js';
import { startEmbeddedDynamoDb } from '../local/embedded-dynamodb.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 8000);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 7);
const GROUP = '/sbc/freeswitch';
const T0 = Date.UTC(2026, 10, 10, 12, 0, 0);

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
function stamp(ms: number, rnd: () => number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}${pad(Math.floor(rnd() * 1000), 3)} ${(80 + rnd() * 19.9).toFixed(2)}%`;
}

interface Mix {
  readonly payload: { awslogs: { data: string } };
  readonly rawBytes: number;
  /** CloudWatch's batch size accounting: message bytes + 26 per event. */
  readonly cwBytes: number;
  readonly failures: number;
  readonly attackers: number;
}

/** One batch. `batch` shifts time and ids (the next batch of the same stream). */
function buildPayload(batch: number): Mix {
  const rnd = seededRandom(7 + batch);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)] as T;
  const heavy = [
    '203.0.113.10',
    '203.0.113.66',
    '203.0.113.201',
    '198.51.100.23',
    '198.51.104.9',
    '2001:db8:bad::5',
  ];
  const light = Array.from({ length: 220 }, (_, i) =>
    i < 200
      ? `198.51.${101 + (i % 8)}.${1 + Math.floor(i / 8) * 7}`
      : `2001:db8:${(i % 19) + 1}::${i}`,
  );
  const carrier = '192.0.2.77'; // a trunk with a wrong password, allowlisted
  const users = ['admin', '100', '1001', '8001', 'test', 'sip', '2000'];
  const domains = ['192.0.2.10', 'sip.example.com', 'pbx.example.net'];
  const failure = (addr: string) => {
    const u = rnd() < 0.6 ? String(1000 + Math.floor(rnd() * 9000)) : pick(users);
    const d = pick(domains);
    switch (Math.floor(rnd() * 3)) {
      case 0:
        return `[WARNING] sofia_reg.c:1755 SIP auth failure (REGISTER) on sofia profile 'internal' for [${u}@${d}] from ip ${addr}`;
      case 1:
        return `[WARNING] sofia_reg.c:1755 SIP auth failure (INVITE) on sofia profile 'external' for [${Math.floor(rnd() * 1e11)}@${d}] from ip ${addr}`;
      default:
        return `[WARNING] sofia_reg.c:3211 Can't find user [${u}@${d}] from ${addr}`;
    }
  };
  const benign = (n: number) => {
    const ip = `192.0.2.${1 + Math.floor(rnd() * 250)}`;
    const u = String(1000 + Math.floor(rnd() * 9000));
    const uuid = Array.from({ length: 4 }, () =>
      Math.floor(rnd() * 2 ** 32)
        .toString(16)
        .padStart(8, '0'),
    ).join('');
    const uid = `${uuid.slice(0, 8)}-${uuid.slice(8, 12)}-${uuid.slice(12, 16)}-${uuid.slice(16, 20)}-${uuid.slice(20)}`;
    switch (n % 8) {
      case 0:
        return `[NOTICE] switch_channel.c:1118 New Channel sofia/internal/${u}@${ip}:5060 [${uid}]`;
      case 1:
        return `[INFO] mod_dialplan_xml.c:637 Processing ${u} <${u}>->${Math.floor(rnd() * 900) + 100} in context public`;
      case 2:
        return `[NOTICE] sofia_reg.c:1723 Registered user ${u}@sip.example.com from ${ip}:5060`;
      case 3:
        return `[INFO] switch_channel.c:3993 Channel [sofia/internal/${u}@${ip}] has been answered`;
      case 4:
        return `[NOTICE] sofia.c:1068 Hangup sofia/internal/${u}@sip.example.com [CS_EXECUTE] [NORMAL_CLEARING]`;
      case 5:
        return `[DEBUG] sofia.c:2307 IP ${ip} Approved by acl "domains[]". Access Granted.`;
      case 6:
        // A challenge is not a failure (mode=normal), even from an attacker.
        return `[WARNING] sofia_reg.c:1711 SIP auth challenge (REGISTER) on sofia profile 'internal' for [${u}@sip.example.com] from ip ${pick(heavy)}`;
      default:
        return `[WARNING] switch_core_session.c:1711 Session ${uid} (${u}) locked, waiting on external entities`;
    }
  };
  const start = T0 + batch * 2 * 60_000;
  const base = 37_000_000_000_000_000_000n + BigInt(batch) * 10_000_000n;
  let failures = 0;
  const seen = new Set<string>();
  const events = Array.from({ length: EVENTS }, (_, i) => {
    const t = start + Math.floor((i * 120_000) / EVENTS);
    const r = rnd();
    let message: string;
    if (r < 0.2) {
      const addr = pick(heavy);
      message = failure(addr);
      seen.add(addr);
      failures++;
    } else if (r < 0.3) {
      const addr = light[Math.floor(rnd() ** 2 * light.length)] as string;
      message = failure(addr);
      seen.add(addr);
      failures++;
    } else if (r < 0.31) {
      message = failure(carrier);
      failures++;
    } else message = benign(i);
    return {
      id: `${base + BigInt(i)}`.padStart(56, '3'),
      timestamp: t,
      message: `${stamp(t, rnd)} ${message}`,
    };
  });
  const json = JSON.stringify({
    messageType: 'DATA_MESSAGE',
    owner: '123456789012',
    logGroup: GROUP,
    logStream: 'i-0bench',
    subscriptionFilters: ['cloudjail'],
    logEvents: events,
  });
  return {
    payload: { awslogs: { data: gzipSync(json).toString('base64') } },
    rawBytes: Buffer.byteLength(json),
    cwBytes: events.reduce((n, e) => n + Buffer.byteLength(e.message) + 26, 0),
    failures,
    attackers: seen.size,
  };
}

const jailConfig = (() => {
  const parsed = parseJails([
    { name: 'freeswitch', logGroups: [GROUP], maxretry: 5, findtime: '10m', bantime: '1h' },
  ]);
  if (!parsed.value) throw new Error(parsed.problems.join('; '));
  return parsed.value[0]!;
})();
const filter = loadBuiltinOrFileFilter(jailConfig.filter);
const jails = [
  { config: jailConfig, createMatcher: () => filter.createMatcher({ timeZone: 'UTC' }) },
];
const silent = { info() {}, warn() {}, error() {} };

function quietMetrics(): Metrics {
  const m = new Metrics({ namespace: 'cloudjail', serviceName: 'detector' });
  m.publishStoredMetrics = function publish(this: Metrics) {
    this.serializeMetrics();
    this.clearMetrics();
    this.clearDimensions();
    return this;
  };
  return m;
}

function countRequests(client: DynamoDBClient) {
  const counter = { total: 0, by: new Map<string, number>() };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      counter.total++;
      const name = String(context.commandName).replace(/Command$/, '');
      counter.by.set(name, (counter.by.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'benchRequestCounter' },
  );
  return counter;
}

function handlerFor(store: BanStore, now: number) {
  return createDetectorHandler(() => ({
    store,
    trigger: new RecordingEnforcementTrigger(),
    jails,
    ignoreip: ['192.0.2.0/24'],
    now: () => now,
    logger: silent,
    metrics: quietMetrics(),
  }));
}

interface Sample {
  ms: number;
  requests: number;
  by: string;
  bans: number;
  failures: number;
  pairs: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? (s[(s.length - 1) / 2] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

async function main(): Promise<void> {
  const first = buildPayload(0);
  const next = buildPayload(1);
  const db = await startEmbeddedDynamoDb('bench-seed');
  const admin = db.client();
  let tables = 0;
  const runs: Record<'first' | 'redelivery' | 'next' | 'memory', Sample[]> = {
    first: [],
    redelivery: [],
    next: [],
    memory: [],
  };
  try {
    for (let r = -1; r < REPEAT; r++) {
      const table = `bench-${++tables}`;
      await admin.send(new CreateTableCommand(createTableInput(table)));
      const client = db.client();
      const counter = countRequests(client);
      const handler = handlerFor(new DynamoDbBanStore(client, table), T0 + 3 * 60_000);
      const measure = async (payload: Mix['payload']): Promise<Sample> => {
        counter.total = 0;
        counter.by.clear();
        const started = performance.now();
        const result: DetectorResult = await handler(payload);
        const ms = performance.now() - started;
        return {
          ms,
          requests: counter.total,
          by: [...counter.by].map(([k, v]) => `${v} ${k}`).join(' + '),
          bans: result.report?.bans.length ?? 0,
          failures: result.report?.failures ?? 0,
          pairs: result.report?.pairs ?? 0,
        };
      };
      const a = await measure(first.payload);
      const b = await measure(first.payload);
      const c = await measure(next.payload);
      const memStarted = performance.now();
      const mem = await handlerFor(new MemoryBanStore(), T0 + 3 * 60_000)(first.payload);
      const memMs = performance.now() - memStarted;
      if (r < 0) continue; // warm-up
      runs.first.push(a);
      runs.redelivery.push(b);
      runs.next.push(c);
      runs.memory.push({
        ms: memMs,
        requests: 0,
        by: '',
        bans: mem.report?.bans.length ?? 0,
        failures: mem.report?.failures ?? 0,
        pairs: mem.report?.pairs ?? 0,
      });
    }
  } finally {
    await db.stop();
  }

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `Machine: ${cpus().length} × ${cpu}, Node ${process.version}. ${new Date().toISOString().slice(0, 10)}`,
  );
  console.log(
    `Payload: ${EVENTS} events, ${(first.rawBytes / 1e6).toFixed(2)} MB JSON (${(first.cwBytes / 1e6).toFixed(2)} MB by CloudWatch's batch accounting), ${(first.payload.awslogs.data.length / 1e3).toFixed(0)} KB base64 gzip; ${first.failures} failures from ${first.attackers} attackers (+1 allowlisted trunk). Median of ${REPEAT} runs after a warm-up.`,
  );
  console.log('');
  console.log(
    '| delivery | store | ms (median) | ms (min–max) | events/s | failures | pairs | bans | DynamoDB requests |',
  );
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---|');
  for (const [name, store, list] of [
    ['first', 'dynalite', runs.first],
    ['redelivery', 'dynalite', runs.redelivery],
    ['next batch', 'dynalite', runs.next],
    ['first', 'memory', runs.memory],
  ] as const) {
    const ms = median(list.map((s) => s.ms));
    const s = list[0] as Sample;
    const min = Math.min(...list.map((x) => x.ms));
    const max = Math.max(...list.map((x) => x.ms));
    const reqs = store === 'memory' ? '—' : `${s.requests} (${s.by})`;
    console.log(
      `| ${name} | ${store} | ${ms.toFixed(0)} | ${min.toFixed(0)}–${max.toFixed(0)} | ${Math.round((EVENTS / ms) * 1000).toLocaleString('en-US')} | ${s.failures} | ${s.pairs} | ${s.bans} | ${reqs} |`,
    );
  }
}

await main();
