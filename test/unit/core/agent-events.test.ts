import { describe, expect, it } from 'vitest';
import { buildAgentConfig } from '../../../cli/agent-config.js';
import { agentEventFormat } from '../../../cli/log-shipper.js';
import { createAgentSplitter, timestampReader } from '../../../lambda/core/logs/agent-events.js';

const NOW = Date.parse('2024-11-06T00:00:00Z');

function split(lines: string[], jail: 'freeswitch' | 'asterisk', timezone?: string) {
  const format = agentEventFormat({
    name: jail,
    filter: jail,
    logGroups: ['/g'],
    ...(timezone ? { timezone } : {}),
  });
  const s = createAgentSplitter(format, { now: NOW });
  return [...lines.flatMap((l) => s.push(l)), ...s.end()];
}

describe('CloudWatch agent event splitting (the agent-config entry)', () => {
  it('the format comes from agent-config output (one source of truth)', () => {
    const entry = buildAgentConfig({
      jail: { name: 'freeswitch', filter: 'freeswitch', logGroups: ['/g'] },
      file: '/x.log',
    }).logs.logs_collected.files.collect_list[0];
    const format = agentEventFormat({
      name: 'freeswitch',
      filter: 'freeswitch',
      logGroups: ['/g'],
    });
    expect(format.multiLineStartPattern).toBe(entry?.multi_line_start_pattern);
    expect(format.timestampFormat).toBe(entry?.timestamp_format);
  });

  it('FreeSWITCH: continuation lines join their first line; time from timestamp_format', () => {
    const events = split(
      [
        "2024-11-05 03:13:02.557301 98.31% [WARNING] sofia_reg.c:3210 Can't find user [admin@x] from 198.51.100.77",
        "You must define a domain called 'x' in your directory",
        'and you must configure your device.',
        '2024-11-05 03:13:03.001944 98.30% [WARNING] sofia_reg.c:1842 SIP auth failure',
        '',
      ],
      'freeswitch',
    );
    expect(events).toHaveLength(2);
    expect(events[0]?.lines).toBe(3);
    expect(events[0]?.message.split('\n')).toHaveLength(3);
    expect(events[0]?.timestamp).toBe(Date.parse('2024-11-05T03:13:02.557Z'));
    expect(events[1]?.timestamp).toBe(Date.parse('2024-11-05T03:13:03.001Z'));
    expect(events[1]?.message.endsWith('failure')).toBe(true);
  });

  it('Asterisk: every logger line starts with [; a Local zone is the jail timezone', () => {
    const events = split(
      ['[2024-11-05 03:13:10] NOTICE[2140] a', '[2024-11-05 03:13:11] NOTICE[2140] b'],
      'asterisk',
      'Europe/Zurich',
    );
    expect(events.map((e) => e.timestamp)).toEqual([
      Date.parse('2024-11-05T02:13:10Z'),
      Date.parse('2024-11-05T02:13:11Z'),
    ]);
  });

  it('an event without a timestamp takes the previous one; lines before any start are events', () => {
    const s = createAgentSplitter(
      { multiLineStartPattern: '^\\[', timestampFormat: '%Y-%m-%d %H:%M:%S', timeZone: 'UTC' },
      { now: NOW, fallback: 5 },
    );
    const events = [
      ...s.push('orphan line'),
      ...s.push('[no date here]'),
      ...s.push('[2024-11-05 01:00:00] dated'),
      ...s.push('[again no date]'),
      ...s.end(),
    ];
    expect(events.map((e) => [e.timestamp, e.dated])).toEqual([
      [5, false],
      [5, false],
      [Date.parse('2024-11-05T01:00:00Z'), true],
      [Date.parse('2024-11-05T01:00:00Z'), false],
    ]);
  });

  it('timestamp formats: month names, %f fractions; unknown codes are refused', () => {
    const read = timestampReader('%b %d %H:%M:%S', 'UTC');
    expect(read('Nov  5 03:13:10 host sshd', NOW)).toBe(Date.parse('2024-11-05T03:13:10Z'));
    expect(() => timestampReader('%Q', 'UTC')).toThrow(/unknown code %Q/);
  });
});
