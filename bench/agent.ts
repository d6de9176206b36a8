/**
 * `npm run bench:agent` (root, `ip netns`, `nft`): the host agent for real, in network namespaces
 * this script creates and deletes (documentation addresses only).
 *
 * 1. Ban written → packets dropped: the agent bundle polls a local S3 endpoint in the SBC
 *    namespace; a ban for the attacker's 192.0.2.2 is written to S3 while UDP probes to 5060 are
 *    sent every 50 ms; latency = write → the first probe that no longer arrives. Then the ban is
 *    lifted (next serial) and traffic passes again. BENCH_TRIALS (default 5) per interval (1 s and
 *    the default 5 s).
 * 2. Apply at 1k / 10k / 100k / 1M bans (BENCH_SIZES): `cloudjail-agent --once` on a fresh
 *    namespace: the time of the one `nft -f` transaction including planning (the agent's log line),
 *    the agent's peak RSS, the object size (gzip JSON as published) and the element count.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildAgentBundle } from '../agent/build-bundle.js';
import { BAN_LIST_KEY } from '../lambda/core/ban-list/heartbeat.js';
import type { PublishedBan } from '../lambda/core/ban-list/schema.js';
import { parseCidr } from '../lambda/core/ip-address.js';
import {
  agentBanList,
  createTopology,
  LineProcess,
  netnsCapability,
  startNetnsS3,
} from '../test/helpers/netns.js';

const ROOT = resolve(import.meta.dirname, '..');
const TRIALS = Number(process.env.BENCH_TRIALS ?? 5);
const SIZES = (process.env.BENCH_SIZES ?? '1000,10000,100000,1000000').split(',').map(Number);

/**
 * n distinct IPv6 /64 bans at pseudo-random places in 2001:db8::/32 (seeded: the same every run),
 * expiring in 1 h: random like real attacker addresses, so the gzip size is not flattered.
 */
function manyBans(n: number, kind: 'host' | 'prefix'): PublishedBan[] {
  const out: PublishedBan[] = [];
  const seen = new Set<number>();
  const expiresAt = Date.now() + 3_600_000;
  let x = 0x9e3779b9;
  while (out.length < n) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const v = x >>> 0;
    if (seen.has(v)) continue;
    seen.add(v);
    out.push([
      parseCidr(
        kind === 'prefix'
          ? `2001:db8:${(v >>> 16).toString(16)}:${(v & 0xffff).toString(16)}::/64`
          : `2001:db8::${(v >>> 16).toString(16)}:${(v & 0xffff).toString(16)}`,
      )!.text,
      expiresAt,
    ]);
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** The namespace's S3 API with a put of the ban list that fails loudly. */
async function startS3(ns: string) {
  const s3 = await startNetnsS3(ns);
  return {
    ...s3,
    async put(body: Buffer): Promise<void> {
      const r = await s3.command(
        { op: 'put', key: BAN_LIST_KEY, body: body.toString('base64') },
        120_000,
      );
      if (!r.ok) throw new Error(r.error);
    },
  };
}

async function latency(bundle: string, dir: string, intervalS: number): Promise<number[]> {
  const topo = createTopology(`b${intervalS}`);
  const procs: LineProcess[] = [];
  try {
    const s3 = await startS3(topo.sbc);
    procs.push(s3.proc);
    const udp = join(ROOT, 'test/helpers/netns-udp.mjs');
    const recv = new LineProcess([
      'ip',
      'netns',
      'exec',
      topo.sbc,
      process.execPath,
      udp,
      'recv',
      '5060',
    ]);
    const send = new LineProcess([
      'ip',
      'netns',
      'exec',
      topo.attacker,
      process.execPath,
      udp,
      'send',
    ]);
    procs.push(recv, send);
    await recv.waitFor((l) => l === 'ready', 15_000);
    await send.waitFor((l) => l === 'ready', 15_000);
    let serial = 1;
    await s3.put(gzipSync(JSON.stringify(agentBanList(serial, []))));
    const agent = new LineProcess([
      'ip',
      'netns',
      'exec',
      topo.sbc,
      process.execPath,
      bundle,
      '--endpoint',
      s3.endpoint,
      '--bucket',
      s3.bucket,
      '--state-file',
      join(dir, `lat-${intervalS}.json`),
      '--interval',
      `${intervalS}s`,
      '--agent-id',
      'bench',
      '--no-heartbeat',
    ]);
    procs.push(agent);
    await agent.waitFor((l) => /applied ban list serial 1/.test(l), 30_000, { stderr: true });
    const out: number[] = [];
    let probe = 0;
    const sentAt = new Map<string, number>();
    // Probes every 50 ms; a probe "arrived" if the receiver printed it.
    const arrivedSince = (t: number) => {
      const got = new Set(recv.lines);
      return [...sentAt].filter(([p, at]) => at >= t && got.has(p)).map(([, at]) => at);
    };
    for (let trial = 0; trial < TRIALS; trial++) {
      serial++;
      // A random phase against the agent's poll, as a real ban arrives.
      await new Promise((r) => setTimeout(r, Math.random() * intervalS * 1000));
      const written = Date.now();
      await s3.put(
        gzipSync(JSON.stringify(agentBanList(serial, [['192.0.2.2/32', Date.now() + 600_000]]))),
      );
      // Probe until 1 s of probes in a row is lost.
      let firstLost: number | undefined;
      for (let t = Date.now(); Date.now() - t < 30_000; ) {
        const payload = `p${++probe}`;
        sentAt.set(payload, Date.now());
        send.send(`192.0.2.2 192.0.2.1 5060 ${payload}`);
        await new Promise((r) => setTimeout(r, 50));
        const candidates = [...sentAt].filter(([, at]) => at >= written && Date.now() - at > 1000);
        const arrived = new Set(arrivedSince(written));
        // The first probe after which every probe older than 300 ms was lost.
        const lost = candidates.filter(([, at]) => !arrived.has(at)).map(([, at]) => at);
        const lastArrived = Math.max(written, ...arrived);
        const firstLostAfter = lost.find((at) => at > lastArrived);
        if (firstLostAfter !== undefined && Date.now() - firstLostAfter > 1000) {
          firstLost = firstLostAfter;
          break;
        }
      }
      if (firstLost === undefined) throw new Error('probes never dropped');
      out.push(firstLost - written);
      serial++;
      await s3.put(gzipSync(JSON.stringify(agentBanList(serial, []))));
      await agent.waitFor((l) => l.includes(`applied ban list serial ${serial}`), 30_000, {
        stderr: true,
      });
      sentAt.clear();
    }
    return out;
  } finally {
    for (const p of procs) await p.stop();
    topo.destroy();
  }
}

async function apply(bundle: string, dir: string, n: number, kind: 'host' | 'prefix') {
  const topo = createTopology(`${kind[0]}${n}`);
  const procs: LineProcess[] = [];
  try {
    const s3 = await startS3(topo.sbc);
    procs.push(s3.proc);
    const body = gzipSync(JSON.stringify(agentBanList(1, manyBans(n, kind))));
    await s3.put(body);
    const agent = new LineProcess(
      [
        'ip',
        'netns',
        'exec',
        topo.sbc,
        process.execPath,
        bundle,
        '--once',
        '--endpoint',
        s3.endpoint,
        '--bucket',
        s3.bucket,
        '--state-file',
        join(dir, `apply-${kind}-${n}.json`),
        '--no-heartbeat',
      ],
      { ...process.env, CLOUDJAIL_AGENT_STATS: '1' },
    );
    procs.push(agent);
    const applied = await agent.waitFor((l) => /applied ban list serial 1/.test(l), 600_000, {
      stderr: true,
    });
    const rss = await agent.waitFor((l) => /max RSS/.test(l), 60_000, { stderr: true });
    return {
      kind,
      bans: n,
      elements: Number(/, (\d+) elements/.exec(applied)?.[1]),
      applyMs: Number(/, (\d+) ms$/.exec(applied)?.[1]),
      agentRssMiB: Number(/max RSS (\d+) MiB/.exec(rss)?.[1]),
      objectKiB: Math.round(body.length / 1024),
    };
  } finally {
    for (const p of procs) await p.stop();
    topo.destroy();
  }
}

const cap = netnsCapability();
if (!cap.ok) {
  process.stderr.write(`bench:agent needs root, ip netns and nft: ${cap.reason}\n`);
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'cloudjail-bench-agent-'));
try {
  const bundle = (await buildAgentBundle(join(dir, 'cloudjail-agent.mjs'))).outfile;
  console.log(
    `bench:agent  ${new Date().toISOString()}  node ${process.version}  ${cpus().length} x ${cpus()[0]?.model}  ${Math.round(totalmem() / 2 ** 30)} GiB`,
  );
  for (const interval of [1, 5]) {
    const ms = await latency(bundle, dir, interval);
    console.log(
      `ban written → packets dropped, --interval ${interval}s: median ${median(ms)} ms, max ${Math.max(...ms)} ms (${ms.join(', ')})`,
    );
  }
  console.log(
    '| bans (IPv6) | nft elements | apply (plan + one nft -f) | agent peak RSS | object (gzip) |',
  );
  console.log('|---:|---:|---:|---:|---:|');
  const PREFIX_SIZES = (process.env.BENCH_PREFIX_SIZES ?? '100000').split(',').map(Number);
  const runs = [
    ...SIZES.map((n) => [n, 'host'] as const),
    ...PREFIX_SIZES.filter((n) => n > 0).map((n) => [n, 'prefix'] as const),
  ];
  for (const [n, kind] of runs) {
    const r = await apply(bundle, dir, n, kind);
    console.log(
      `| ${r.bans.toLocaleString('en')} ${r.kind === 'host' ? 'hosts (/128)' : 'prefixes (/64)'} | ${r.elements.toLocaleString('en')} | ${r.applyMs.toLocaleString('en')} ms | ${r.agentRssMiB} MiB | ${r.objectKiB.toLocaleString('en')} KiB |`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
