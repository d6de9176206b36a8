/**
 * `replay --config`: a jail's relative filter path is read from the configuration file's
 * directory (as cdk.json's are at synth), not from the current directory; its `before =` include
 * of a built-in resolves too (spawned CLI, run from the repository root).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cloudjail, lastJson, ROOT, tempDir } from './cli-process.js';

const tmp = tempDir('replay-config-paths');

describe('replay --config with a relative filter path', () => {
  it('resolves it from the configuration file, with built-in includes', async () => {
    const dir = join(tmp, 'deploy');
    mkdirSync(join(dir, 'filters'), { recursive: true });
    writeFileSync(
      join(dir, 'filters', 'my-asterisk.conf'),
      '[INCLUDES]\nbefore = asterisk.conf\n\n[Definition]\nfailregex = %(known/failregex)s\n            ^NOTICE.* .*: Incoming SIP connection from unknown peer failed for <HOST> - Unknown connection from peer$\n',
    );
    const config = JSON.parse(readFileSync(join(ROOT, 'samples/cloudjail.json'), 'utf8'));
    config.jails = [{ ...config.jails[1], filter: 'filters/my-asterisk.conf' }];
    const configPath = join(dir, 'cloudjail.json');
    writeFileSync(configPath, JSON.stringify(config));
    const ip = '203.0.113.81';
    const log = join(tmp, 'dialplan.log');
    writeFileSync(
      log,
      `${Array.from(
        { length: 5 },
        (_, i) =>
          `[2024-11-05 11:00:1${i}] NOTICE[-1][C-00000002]: Ext. s:1 in from-sip-external: Incoming SIP connection from unknown peer failed for ${ip} - Unknown connection from peer`,
      ).join('\n')}\n`,
    );
    const r = await cloudjail(['replay', log, '--config', configPath, '--json']);
    expect(r.stderr).not.toMatch(/not found|no option/);
    expect(r.code).toBe(0);
    expect((lastJson(r) as { banned: string[] }).banned).toEqual([ip]);
  });
});
