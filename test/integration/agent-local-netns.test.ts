/**
 * The embedded mode's host tier end to end (issue 11, item 4): `cloudjail local` runs inside a
 * network namespace the test creates, `cloudjail ban --local` writes a ban, the enforcer publishes
 * the list to the server's local S3 API, and `cloudjail agent --local --once` in the same namespace
 * applies it to that namespace's nftables and exits 0. Nothing leaves the namespace's loopback.
 *
 * Runs as root with `ip` and `nft`; skips otherwise, except under CLOUDJAIL_REQUIRE_NETNS=1 (CI).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inNs, LineProcess, requireNetns, sh } from '../helpers/netns.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'cli/cloudjail.js');
const RUN = requireNetns();
const ENV = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

describe
  .runIf(RUN)
  .sequential('cloudjail agent --local in a namespace running cloudjail local', () => {
    const ns = `cjlocal${process.pid}`;
    let dir: string;
    let server: LineProcess;

    const cli = (args: readonly string[]) =>
      new LineProcess(['ip', 'netns', 'exec', ns, process.execPath, CLI, ...args], ENV);
    const finished = async (p: LineProcess, timeoutMs: number): Promise<number | null> => {
      const deadline = Date.now() + timeoutMs;
      while (p.exitCode === undefined && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      return p.exitCode ?? null;
    };

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'cloudjail-agent-local-'));
      sh(['ip', 'netns', 'add', ns]);
      inNs(ns, ['ip', 'link', 'set', 'lo', 'up']);
      server = cli(['local', '--state', join(dir, 'local.json')]);
      await server.waitFor((l) => l.startsWith('cloudjail local: ready'), 90_000);
    }, 120_000);

    afterAll(async () => {
      await server?.stop();
      try {
        sh(['ip', 'netns', 'del', ns]);
      } catch {
        // already gone
      }
      rmSync(dir, { recursive: true, force: true });
    });

    it('applies the published list to the namespace nftables and exits 0', async () => {
      const state = join(dir, 'local.json');
      const ban = cli(['ban', '203.0.113.77', '--for', '1h', '--local', '--state', state]);
      expect(await finished(ban, 90_000), ban.errLines.join('\n')).toBe(0);
      const agent = cli([
        'agent',
        '--local',
        '--once',
        '--local-state',
        state,
        '--state-file',
        join(dir, 'agent.json'),
      ]);
      expect(await finished(agent, 90_000), agent.errLines.join('\n')).toBe(0);
      expect([...agent.lines, ...agent.errLines].join('\n')).toMatch(/applied ban list serial \d+/);
      const table = inNs(ns, ['nft', 'list', 'table', 'inet', 'cloudjail']);
      expect(table).toContain('203.0.113.77');
      // The trunk of the sample configuration is allowlisted before any drop.
      expect(table).toContain('192.0.2.0/28');
    }, 200_000);
  });
