import { describe, expect, it } from 'vitest';
import { loadBuiltinOrFileFilter } from '../../../lambda/adapters/filter-files.js';
import { sampleEvents } from '../../../lambda/core/diagnostics/sample-check.js';
import { parseFilterPattern } from '../../../lambda/core/logs/filter-pattern.js';
import { subscriptionFilterPattern } from '../../../lib/filter-patterns.js';

const NOW = Date.parse('2024-11-05T04:00:00Z');
const failure = (ip: string) =>
  `2024-11-05 03:12:01.310422 98.97% [WARNING] sofia_reg.c:1842 SIP auth failure (REGISTER) on sofia profile 'internal' for [3101@pbx.example.com] from ip ${ip}`;
const noise = '2024-11-05 03:11:58.104211 99.12% [NOTICE] switch_core.c:2533 FreeSWITCH Started';

describe('doctor sample: the fail2ban-regex view of live events', () => {
  const matcher = () => loadBuiltinOrFileFilter('freeswitch').createMatcher({ timeZone: 'UTC' });
  const events = [failure('203.0.113.5'), noise, 'no date at all', failure('203.0.113.6')].map(
    (message) => ({ timestamp: NOW, message }),
  );

  it('counts lines, failures, date templates and missed examples', () => {
    const stackPattern = parseFilterPattern(subscriptionFilterPattern(['freeswitch']));
    const f = sampleEvents(events, matcher(), stackPattern, NOW);
    expect(f).toMatchObject({ events: 4, lines: 4, failures: 2, failureLines: 2, undated: 1 });
    expect(f.droppedFailureEvents).toBe(0);
    expect(f.dateTemplates[0]?.[1]).toBe(3);
    expect(f.missedExamples).toEqual([noise, 'no date at all']);
  });

  it('a pattern that drops failures is counted, with an example', () => {
    const f = sampleEvents(events, matcher(), parseFilterPattern('%Started%'), NOW);
    expect(f.failureEvents).toBe(2);
    expect(f.droppedFailureEvents).toBe(2);
    expect(f.droppedExamples[0]).toContain('203.0.113.5');
  });
});
