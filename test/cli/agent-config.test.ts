/**
 * `cloudjail agent-config` as users run it: a spawned process reading the repo's cdk.json. The
 * generator's details are unit-tested in test/unit/agent-config.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { cloudjail } from './cli-process.js';

describe('cloudjail agent-config (spawned)', () => {
  it('prints a CloudWatch agent configuration for a jail of cdk.json', async () => {
    const { code, stdout, stderr } = await cloudjail([
      'agent-config',
      '--jail',
      'freeswitch',
      '--file',
      '/var/log/freeswitch/freeswitch.log',
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const entry = JSON.parse(stdout).logs.logs_collected.files.collect_list[0];
    expect(entry).toMatchObject({
      file_path: '/var/log/freeswitch/freeswitch.log',
      log_group_name: '/sbc/freeswitch',
      log_stream_name: '{instance_id}',
      timestamp_format: '%Y-%m-%d %H:%M:%S.%f',
    });
    // One event per physical line: no start pattern an attacker's fake date could satisfy.
    expect(entry).not.toHaveProperty('multi_line_start_pattern');
  });

  it('exits 4 (not found, as every --jail) with one clear line for a jail cdk.json does not have', async () => {
    const { code, stdout, stderr } = await cloudjail([
      'agent-config',
      '--jail',
      'nope',
      '--file',
      '/x',
    ]);
    expect(code).toBe(4);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain('no jail "nope"');
  });
});
