/**
 * The host agent for real: two network namespaces joined by a veth pair (documentation addresses
 * only), the agent bundle running in the "SBC" namespace against a local S3 endpoint served on that
 * namespace's own loopback, UDP datagrams to port 5060 sent from the "attacker" namespace.
 *
 * Runs as root with `ip` and `nft`; skips otherwise, except under CLOUDJAIL_REQUIRE_NETNS=1 (CI),
 * where a missing capability fails.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgentBundle } from '../../agent/build-bundle.js';
import { BAN_LIST_KEY } from '../../lambda/core/ban-list/heartbeat.js';
import type { BanList, PublishedBan } from '../../lambda/core/ban-list/schema.js';
import { parseCidr } from '../../lambda/core/ip-address.js';
import {
  agentBanList,
  createTopology,
  inNs,
  LineProcess,
  type NetnsS3,
  requireNetns,
  startNetnsS3,
  type Topology,
} from '../helpers/netns.js';

const ROOT = resolve(import.meta.dirname, '../..');
const RUN = requireNetns();
const INTERVAL_MS = 1000;
/** The requirement: dropped within the poll interval + 1 s after the ban is published. */
const DROP_WITHIN_MS = INTERVAL_MS + 1000;

describe.runIf(RUN).sequential('agent in a network namespace', () => {
  let topo: Topology;
  let dir: string;
  let bundle: string;
  let s3: NetnsS3;
  let endpoint: string;
  let bucket: string;
  let recv: LineProcess;
  let send: LineProcess;
  let agent: LineProcess;
  let probes = 0;

  async function publish(body: Buffer | BanList): Promise<void> {
    const bytes = Buffer.isBuffer(body) ? body : gzipSync(JSON.stringify(body));
    const out = await s3.command({ op: 'put', key: BAN_LIST_KEY, body: bytes.toString('base64') });
    expect(out.ok).toBe(true);
  }

  /** Sends one datagram from `source` to the SBC and reports whether it arrived within 800 ms. */
  async function arrives(source: string): Promise<boolean> {
    const payload = `probe-${++probes}-${source}`;
    const destination = source.includes(':') ? '2001:db8:1::1' : '192.0.2.1';
    const from = recv.lines.length;
    send.send(`${source} ${destination} 5060 ${payload}`);
    try {
      await recv.waitFor((l) => l === payload, 800, { from });
      return true;
    } catch {
      return false;
    }
  }

  function startAgent(): LineProcess {
    return new LineProcess([
      'ip',
      'netns',
      'exec',
      topo.sbc,
      process.execPath,
      bundle,
      '--endpoint',
      endpoint,
      '--bucket',
      bucket,
      '--state-file',
      join(dir, 'agent-state.json'),
      '--interval',
      `${INTERVAL_MS / 1000}s`,
      '--agent-id',
      'test-sbc',
    ]);
  }

  async function agentLog(match: RegExp, timeoutMs = 15_000, from = 0): Promise<string> {
    return agent.waitFor((l) => match.test(l), timeoutMs, { stderr: true, from });
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cloudjail-agent-netns-'));
    bundle = (await buildAgentBundle(join(dir, 'cloudjail-agent.mjs'))).outfile;
    topo = createTopology('a');
    s3 = await startNetnsS3(topo.sbc);
    ({ endpoint, bucket } = s3);
    const udp = join(ROOT, 'test/helpers/netns-udp.mjs');
    recv = new LineProcess([
      'ip',
      'netns',
      'exec',
      topo.sbc,
      process.execPath,
      udp,
      'recv',
      '5060',
    ]);
    send = new LineProcess(['ip', 'netns', 'exec', topo.attacker, process.execPath, udp, 'send']);
    await recv.waitFor((l) => l === 'ready', 15_000);
    await send.waitFor((l) => l === 'ready', 15_000);
  }, 120_000);

  afterAll(async () => {
    for (const p of [agent, recv, send, s3?.proc]) await p?.stop();
    topo?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('datagrams arrive before any ban; the first list is applied', async () => {
    expect(await arrives('192.0.2.2')).toBe(true);
    expect(await arrives('198.51.100.10')).toBe(true);
    expect(await arrives('2001:db8:1::2')).toBe(true);
    await publish(agentBanList(1, []));
    agent = startAgent();
    await agentLog(/applied ban list serial 1 \(first/);
    expect(await arrives('192.0.2.2')).toBe(true);
  });

  let shortBanUntil = 0;
  it('drops banned sources within the poll interval + 1 s; an allowlisted source in a banned /24 still arrives', async () => {
    shortBanUntil = Date.now() + 8000;
    await publish(
      agentBanList(2, [
        ['192.0.2.2/32', shortBanUntil],
        ['198.51.100.0/24', null],
        ['2001:db8:1::2/128', Date.now() + 3_600_000],
      ]),
    );
    const published = Date.now();
    await new Promise((r) => setTimeout(r, DROP_WITHIN_MS));
    expect(await arrives('198.51.100.10')).toBe(false);
    expect(Date.now() - published).toBeLessThan(DROP_WITHIN_MS + 1000);
    expect(await arrives('192.0.2.2')).toBe(false);
    expect(await arrives('2001:db8:1::2')).toBe(false);
    expect(await arrives('198.51.100.9')).toBe(true);
    await agentLog(/applied ban list serial 2 \(newer, was 1\): \+3 -0 bans/);
  });

  it('traffic passes again after the ban expires (the kernel timeout, no new list)', async () => {
    await new Promise((r) => setTimeout(r, Math.max(0, shortBanUntil - Date.now()) + 500));
    expect(await arrives('192.0.2.2')).toBe(true);
    expect(await arrives('198.51.100.10')).toBe(false);
  });

  it('refuses a corrupt list and an older serial; enforcement stays', async () => {
    const from = agent.errLines.length;
    await publish(gzipSync('{"schema":"cloudjail.ban-list","schemaVersion":1,"serial":3,'));
    await agentLog(/refused .* not valid JSON.*enforcement unchanged \(serial 2\)/, 15_000, from);
    expect(await arrives('198.51.100.10')).toBe(false);
    await publish(agentBanList(1, []));
    await agentLog(/refused ban list serial 1: older than the applied serial 2/, 15_000, from);
    expect(await arrives('198.51.100.10')).toBe(false);
    expect(await arrives('198.51.100.9')).toBe(true);
  });

  it('a restarted agent keeps enforcing and still refuses the older list', async () => {
    await agent.stop();
    expect(inNs(topo.sbc, ['nft', 'list', 'tables'])).toContain('table inet cloudjail');
    expect(await arrives('198.51.100.10')).toBe(false);
    agent = startAgent();
    await agentLog(/refused ban list serial 1: older than the applied serial 2/);
    expect(await arrives('198.51.100.10')).toBe(false);
    await publish(agentBanList(4, [['198.51.100.0/24', null]]));
    await agentLog(/applied ban list serial 4/);
    expect(await arrives('198.51.100.10')).toBe(false);
  });

  it('applies 100,000 bans (hosts and prefixes) in one transaction', async () => {
    const bans: PublishedBan[] = [['198.51.100.0/24', null]];
    const expiresAt = Date.now() + 3_600_000;
    for (let i = 0; i < 100_000; i++) {
      // Half host bans (hash sets), half prefixes (interval sets); canonical text, as the list
      // contract requires; prefixes not adjacent (planning merges neighbours).
      const n = 2 * i;
      const cidr = parseCidr(
        i % 2 === 0
          ? `2001:db8:fe::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`
          : `2001:db8:ff:${(n >> 16).toString(16)}:${(n & 0xffff).toString(16)}::/80`,
      );
      bans.push([cidr!.text, expiresAt]);
    }
    await publish(agentBanList(5, bans));
    const line = await agentLog(/applied ban list serial 5/, 60_000);
    expect(line, line).toMatch(/100001 elements \(IPv4 1, IPv6 100000\)/);
    const status = JSON.parse(
      inNs(topo.sbc, [
        process.execPath,
        bundle,
        'status',
        '--json',
        '--state-file',
        join(dir, 'agent-state.json'),
      ]),
    );
    expect(status.table).toBe(true);
    expect(status.banElements).toBe(100_001);
    expect(status.appliedSerial).toBe(5);
    expect(await arrives('198.51.100.10')).toBe(false);
  }, 90_000);

  it('writes its heartbeat with the applied serial', async () => {
    await new Promise((r) => setTimeout(r, 500));
    const out = await s3.command({ op: 'get', key: 'agents/test-sbc.json' });
    expect(out.ok).toBe(true);
    const hb = JSON.parse(Buffer.from(out.body ?? '', 'base64').toString('utf8'));
    expect(hb).toMatchObject({
      schema: 'cloudjail.agent-heartbeat',
      agentId: 'test-sbc',
      appliedSerial: 5,
      elements: 100_001,
    });
  });

  it('uninstall deletes table inet cloudjail only; traffic passes', async () => {
    await agent.stop();
    inNs(topo.sbc, ['nft', 'add', 'table', 'inet', 'operator']);
    inNs(topo.sbc, [process.execPath, bundle, 'uninstall']);
    const tables = inNs(topo.sbc, ['nft', 'list', 'tables']);
    expect(tables).not.toContain('table inet cloudjail');
    expect(tables).toContain('table inet operator');
    expect(await arrives('198.51.100.10')).toBe(true);
  });
});
