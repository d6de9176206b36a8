import { describe, expect, it } from 'vitest';
import { agentHealth, classifyAgent } from '../../../lambda/core/agent-health.js';
import type { AgentHeartbeat } from '../../../lambda/core/ban-list/heartbeat.js';

const NOW = 1_800_000_000_000;
const STALE = 300_000;

function hb(agentId: string, appliedSerial: number | null, ageMs: number): AgentHeartbeat {
  return {
    schema: 'cloudjail.agent-heartbeat',
    schemaVersion: 1,
    agentId,
    hostname: `${agentId}.example`,
    appliedSerial,
    elements: 3,
    lastError: null,
    at: NOW - ageMs,
    version: '0.1.0',
  };
}

describe('agent health', () => {
  const published = { serial: 10, publishedAt: NOW - 600_000 };

  it('classifies current, behind and silent', () => {
    expect(classifyAgent(hb('a', 10, 5000), published, NOW, STALE)).toBe('current');
    expect(classifyAgent(hb('b', 9, 5000), published, NOW, STALE)).toBe('behind');
    expect(classifyAgent(hb('c', null, 5000), published, NOW, STALE)).toBe('behind');
    expect(classifyAgent(hb('d', 10, STALE + 1), published, NOW, STALE)).toBe('silent');
  });

  it('gives an agent staleAfter to catch up with a fresh publication', () => {
    const fresh = { serial: 11, publishedAt: NOW - 10_000 };
    expect(classifyAgent(hb('a', 10, 5000), fresh, NOW, STALE)).toBe('current');
  });

  it('counts per state and lists hosts with serial and age', () => {
    const health = agentHealth(
      [hb('b', 9, 1000), hb('a', 10, 2000), hb('c', 10, 900_000)],
      published,
      NOW,
      STALE,
    );
    expect([health.current, health.behind, health.silent]).toEqual([1, 1, 1]);
    expect(health.agents.map((a) => [a.agentId, a.state, a.appliedSerial, a.ageMs])).toEqual([
      ['a', 'current', 10, 2000],
      ['b', 'behind', 9, 1000],
      ['c', 'silent', 10, 900_000],
    ]);
  });
});
