/**
 * `cloudjail doctor --local` against a `cloudjail local` server: every check ok once the sample
 * logs are shipped, then each link broken in turn (no events, no subscription filter, a filter
 * pattern that matches nothing, the enforcer failing, a NACL missing) and the matching check fails
 * with its fix. Also `backfill --local` (the same events again count nothing).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import {
  CloudWatchLogsClient,
  DeleteSubscriptionFilterCommand,
  PutSubscriptionFilterCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CliResult,
  cloudjail,
  type LocalServer,
  lastJson,
  ROOT,
  startLocalServer,
} from './cli-process.js';

interface Check {
  check: string;
  subject: string;
  status: string;
  message: string;
  fix?: string;
}

let server: LocalServer;
let logs: CloudWatchLogsClient;
let detectorArn: string;
const doctor = (...extra: string[]) => cloudjail(['doctor', '--json', ...server.args, ...extra]);
const checks = (r: CliResult) => (lastJson(r) as { checks: Check[] }).checks;
const failing = (r: CliResult) => checks(r).filter((c) => c.status === 'fail');

beforeAll(async () => {
  server = await startLocalServer();
  const state = JSON.parse(readFileSync(server.state, 'utf8'));
  detectorArn = state.logs.detectorArn;
  logs = new CloudWatchLogsClient({
    region: state.logs.region,
    endpoint: state.logs.endpoint,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
});
afterAll(async () => {
  logs?.destroy();
  expect(await server?.stop()).toBe(0);
});

/** A copy of the state file with `change` applied (the server itself is untouched). */
function brokenState(
  change: (state: {
    lambda: { enforcerFunctionName: string };
    config: { targets: { naclId: string }[] };
  }) => void,
): string[] {
  const state = JSON.parse(readFileSync(server.state, 'utf8'));
  change(state);
  const path = `${server.state}.broken.json`;
  writeFileSync(path, JSON.stringify(state));
  return ['--local', '--state', path];
}

describe('cloudjail doctor --local', () => {
  it('no events yet: the events checks fail with the fix; exit 6', async () => {
    const r = await doctor();
    expect(r.code).toBe(6);
    const events = failing(r).filter((c) => c.check === 'events');
    expect(events.map((c) => c.subject).sort()).toEqual([
      '/cloudjail/demo/asterisk',
      '/cloudjail/demo/freeswitch',
    ]);
    expect(events[0]?.message).toMatch(/no events ever reached/);
    expect(events[0]?.fix).toMatch(/agent-config|cloudjail ship/);
    const human = await cloudjail(['doctor', ...server.args]);
    expect(human.code).toBe(6);
    expect(human.stdout).toMatch(
      /\[FAIL\] events: no events ever reached \/cloudjail\/demo\/freeswitch\n {7}fix: /,
    );
  });

  it('after ship: every check ok (agents not configured), exit 0', async () => {
    for (const log of ['freeswitch', 'asterisk']) {
      const s = await cloudjail(['ship', `${ROOT}/samples/${log}.log`, ...server.args]);
      expect(s.code, s.stderr).toBe(0);
    }
    // Deliveries and the enforcer's run follow within seconds.
    await expect
      .poll(async () => (await doctor()).code, { timeout: 30_000, interval: 1000 })
      .toBe(0);
    const r = await doctor();
    const byCheck = (name: string) => checks(r).filter((c) => c.check === name);
    expect(byCheck('sample').every((c) => c.status === 'ok')).toBe(true);
    expect(byCheck('sample')[0]?.message).toMatch(/\d+ failure\(s\).*date templates: /);
    expect(byCheck('enforcer')[0]?.message).toMatch(/9 active ban\(s\).*last run .* ago: ok/);
    expect(byCheck('nacl')[0]?.message).toMatch(/associated with subnet-/);
    expect(byCheck('agents')[0]).toMatchObject({ status: 'skip', message: /not configured/ });
    expect(byCheck('detector').every((c) => c.status === 'ok')).toBe(true);
  }, 60_000);

  it('a subscription pattern that matches nothing: the sample shows the failures it drops', async () => {
    await logs.send(
      new PutSubscriptionFilterCommand({
        logGroupName: '/cloudjail/demo/freeswitch',
        filterName: 'cloudjail-freeswitch',
        filterPattern: '%no such words%',
        destinationArn: detectorArn,
      }),
    );
    const r = await doctor('freeswitch');
    expect(r.code).toBe(6);
    const sample = failing(r).find((c) => c.check === 'sample');
    expect(sample?.message).toMatch(/drops \d+ of \d+ failure event\(s\)/);
    expect(sample?.fix).toMatch(/%sofia\|registration%/);
    expect(checks(r).find((c) => c.check === 'subscription')?.status).toBe('warn');
  });

  it('no subscription filter: the subscription check fails with the fix', async () => {
    await logs.send(
      new DeleteSubscriptionFilterCommand({
        logGroupName: '/cloudjail/demo/freeswitch',
        filterName: 'cloudjail-freeswitch',
      }),
    );
    const r = await doctor('freeswitch');
    expect(r.code).toBe(6);
    const sub = failing(r).find((c) => c.check === 'subscription');
    expect(sub?.message).toMatch(
      /no subscription filter of \/cloudjail\/demo\/freeswitch targets the detector/,
    );
    expect(sub?.fix).toMatch(/cdk deploy.*cloudjail-freeswitch/);
    // Restore it, as the stack would.
    await logs.send(
      new PutSubscriptionFilterCommand({
        logGroupName: '/cloudjail/demo/freeswitch',
        filterName: 'cloudjail-freeswitch',
        filterPattern: '%sofia|registration%',
        destinationArn: detectorArn,
      }),
    );
    expect((await doctor()).code).toBe(0);
  });

  it('backfill --local: the shipped events again, nothing counted twice, no new ban', async () => {
    const before = lastJson(await cloudjail(['status', '--json', ...server.args]));
    const r = await cloudjail(['backfill', '--since', '1h', '--json', ...server.args]);
    expect(r.code, r.stderr).toBe(0);
    const out = lastJson(r) as {
      groups: { events: number; failures: number; newFailures: number }[];
      bans: unknown[];
    };
    expect(out.groups.reduce((n, g) => n + g.failures, 0)).toBeGreaterThan(0);
    expect(out.groups.reduce((n, g) => n + g.newFailures, 0)).toBe(0);
    expect(out.bans).toEqual([]);
    const after = lastJson(await cloudjail(['status', '--json', ...server.args]));
    expect((after as { jails: unknown }).jails).toEqual((before as { jails: unknown }).jails);
  });

  it('the enforcer failing: the enforcer check fails with the fix', async () => {
    const args = brokenState((s) => {
      s.lambda.enforcerFunctionName = 'cloudjail-enforcer-gone';
    });
    const r = await cloudjail(['doctor', '--json', ...args]);
    expect(r.code).toBe(6);
    const enforcer = failing(r).find((c) => c.check === 'enforcer');
    expect(enforcer?.message).toMatch(/the enforcer cannot run: .*cloudjail-enforcer-gone/);
    expect(enforcer?.fix).toBeDefined();
  });

  it('a NACL missing: the nacl check fails with the fix', async () => {
    const args = brokenState((s) => {
      s.config.targets = [{ ...s.config.targets[0], naclId: 'acl-0fffffffffffffff0' }];
    });
    const r = await cloudjail(['doctor', '--json', ...args]);
    expect(r.code).toBe(6);
    const nacl = failing(r).find((c) => c.check === 'nacl');
    expect(nacl?.message).toMatch(/acl-0fffffffffffffff0: does not exist/);
    expect(nacl?.fix).toMatch(/targets\[\]\.naclId/);
  });
});
