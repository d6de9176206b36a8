/**
 * `npm run bench:publish`: the host tier's publication at 1k / 10k / 100k / 1M bans — building the
 * list (core buildBanList: grouping, allowlist check, ordering, content hash), serializing it
 * (JSON + gzip), and publishing it through the real S3 client to the local S3 API (s3rver on
 * 127.0.0.1: PutObject over HTTP, then the unchanged run's HeadObject). Prints ms (median of
 * BENCH_REPEAT runs, default 3; 1 at 1M), the object size, and the heap used.
 *
 * Peer, measured in the same run on the same records: the naive publication, `gzip(JSON.stringify(
 * records))` of the raw ban records (no grouping, no ordering, no allowlist check, no hash). The
 * ratios (ours / peer) hold on a loaded machine where absolute times do not.
 *
 * Bans: 90% IPv4 /32 at pseudo-random addresses (distinct), 10% IPv6 /128 in 2001:db8::/32,
 * expiries spread over 3 days (ms), 5% permanent; three jails in two deny groups; 10 allowlist
 * entries (so every ban is checked against them).
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { gzipSync } from 'node:zlib';
import { serializeBanList } from '../lambda/adapters/ban-list-codec.js';
import { S3BanListPublisher } from '../lambda/adapters/s3-ban-list-publisher.js';
import type { Ban } from '../lambda/core/ban.js';
import {
  banListDocument,
  banListJson,
  buildBanList,
} from '../lambda/core/ban-list/build-ban-list.js';
import { SIP_DENY } from '../lambda/core/deny-spec.js';
import { publishBanList } from '../lambda/use-cases/publish-ban-list.js';
import { startLocalS3 } from '../local/s3-endpoint.js';

const SIZES = (process.env.BENCH_SIZES ?? '1000,10000,100000,1000000').split(',').map(Number);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const JAILS = [
  { name: 'freeswitch', deny: SIP_DENY },
  { name: 'asterisk', deny: SIP_DENY },
  { name: 'manual', deny: { kind: 'all' as const } },
];
const IGNOREIP = Array.from({ length: 10 }, (_, i) => `192.0.2.${i * 16}/28`);

/** xorshift32: deterministic pseudo-random addresses (random ones compress like real attackers). */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function bans(n: number): Ban[] {
  const next = random(n);
  const seen = new Set<string>();
  const out: Ban[] = [];
  for (let i = 0; out.length < n; i++) {
    const r = next();
    const cidr =
      i % 10 === 9
        ? `2001:db8:${(r >>> 16).toString(16)}:${(r & 0xffff).toString(16)}::${(next() & 0xffff).toString(16)}/128`
        : `${1 + ((r >>> 24) % 223)}.${(r >>> 16) & 0xff}.${(r >>> 8) & 0xff}.${r & 0xff}/32`;
    if (seen.has(cidr) || cidr.startsWith('192.0.2.')) continue;
    seen.add(cidr);
    out.push({
      jail: JAILS[i % 3]!.name,
      cidr,
      createdAt: T0 - 1000,
      // Bans of up to 3 days decided over the last 3 days: expiries spread over 3 days, in ms.
      expiresAt: i % 20 === 0 ? null : T0 + 3_600_000 + (next() % (3 * 86_400_000)),
      source: i % 3 === 2 ? 'manual' : 'detector',
      failures: 5,
      banCount: 1,
    });
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main() {
  console.log(
    `bench:publish on ${cpus()[0]?.model ?? '?'} x${cpus().length}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}, ${new Date().toISOString().slice(0, 10)}`,
  );
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log(
    'bans     build ms  serialize ms  publish ms  unchanged ms  object bytes  bytes/ban  heap MB  peer ms  peer bytes  time ratio  size ratio',
  );
  const s3 = await startLocalS3();
  try {
    for (const n of SIZES) {
      const input = bans(n);
      const repeat = n >= 1_000_000 ? 1 : REPEAT;
      const build: number[] = [];
      const serialize: number[] = [];
      const publish: number[] = [];
      const unchanged: number[] = [];
      const peer: number[] = [];
      let peerBytes = 0;
      let bytes = 0;
      let heap = 0;
      for (let r = 0; r < repeat; r++) {
        const args = { bans: input, jails: JAILS, ignoreip: IGNOREIP, runtimeIgnores: [], now: T0 };
        let t = performance.now();
        const built = buildBanList(args);
        build.push(performance.now() - t);
        t = performance.now();
        const body = serializeBanList(
          banListDocument(built.content, 1, T0),
          banListJson(built.contentJson, 1, T0),
        );
        serialize.push(performance.now() - t);
        t = performance.now();
        peerBytes = gzipSync(Buffer.from(JSON.stringify(input))).length;
        peer.push(performance.now() - t);
        bytes = body.length;
        heap = Math.max(heap, process.memoryUsage().heapUsed);
        if (built.listedBans.length !== n)
          throw new Error(`listed ${built.listedBans.length} of ${n}`);
        // The use case end to end: build + HeadObject + PutObject to the local S3 API.
        const client = s3.client();
        const publisher = new S3BanListPublisher({
          client,
          bucket: s3.bucket,
          key: `bench/${n}-${r}.json.gz`,
        });
        const deps = {
          publisher,
          jails: JAILS,
          ignoreip: IGNOREIP,
          runtimeIgnores: async () => [],
        };
        t = performance.now();
        const first = await publishBanList(input, T0, deps);
        publish.push(performance.now() - t);
        if (!first.changed || first.error) throw new Error(`publish failed: ${first.error}`);
        t = performance.now();
        const second = await publishBanList(input, T0 + 60_000, deps);
        unchanged.push(performance.now() - t);
        if (second.changed) throw new Error('unchanged content was written again');
      }
      console.log(
        [
          String(n).padEnd(8),
          median(build).toFixed(0).padStart(8),
          median(serialize).toFixed(0).padStart(13),
          median(publish).toFixed(0).padStart(11),
          median(unchanged).toFixed(0).padStart(13),
          String(bytes).padStart(13),
          (bytes / n).toFixed(1).padStart(10),
          (heap / 2 ** 20).toFixed(0).padStart(8),
          median(peer).toFixed(0).padStart(8),
          String(peerBytes).padStart(11),
          ((median(build) + median(serialize)) / median(peer)).toFixed(2).padStart(11),
          (bytes / peerBytes).toFixed(3).padStart(11),
        ].join(' '),
      );
    }
  } finally {
    await s3.stop();
  }
}

await main();
