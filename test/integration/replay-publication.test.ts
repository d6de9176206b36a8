/**
 * Replay publishes the host tier's ban list once, at the log's end (the lists in between are
 * never read), and that list is the one publishing at every enforcer run ends with: same bans,
 * same NACL table, same published CIDRs, same report.
 */
import { describe, expect, it } from 'vitest';
import { loadConfigFile, SAMPLE_LOGS } from '../../cli/config-file.js';
import { startEmbedded } from '../../local/embedded.js';
import { type ReplayResult, replayLogs } from '../../local/replay-log.js';

async function replay(
  publishEveryRun: boolean,
): Promise<{ result: ReplayResult; publications: number }> {
  const { config } = loadConfigFile();
  const pipeline = await startEmbedded({ config, inMemory: true });
  let publications = 0;
  const publish = pipeline.banList.publish.bind(pipeline.banList);
  pipeline.banList.publish = (request) => {
    publications++;
    return publish(request);
  };
  try {
    const sources = Object.entries(SAMPLE_LOGS).map(([name, path]) => ({
      path,
      logGroup: config.jails.find((j) => j.name === name)?.logGroups[0] as string,
      timeZone: 'UTC',
    }));
    const result = await replayLogs(pipeline, sources, { publishEveryRun }, Date.UTC(2026, 0, 1));
    return { result, publications };
  } finally {
    await pipeline.stop();
  }
}

describe('replay: the host tier is published at the end of the log', () => {
  it('one publication by default, the same final state as publishing at every run', async () => {
    const once = await replay(false);
    const every = await replay(true);
    expect(once.result.enforcerRuns).toBeGreaterThan(1);
    expect(once.publications).toBe(1);
    expect(every.publications).toBeGreaterThan(1);
    expect(once.result.published.length).toBeGreaterThan(0);
    const view = (r: ReplayResult) => ({
      bans: r.bans.map((b) => [b.jail, b.cidr, b.createdAt, b.expiresAt]),
      entries: r.entries,
      published: r.published,
      notEnforced: r.report.notEnforced,
      notPublished: r.report.publication?.notPublished,
      publishedBans: r.report.publication?.bans,
    });
    expect(view(once.result)).toEqual(view(every.result));
    expect(once.result.report.publication?.notPublished).toBe(0);
  });
});
