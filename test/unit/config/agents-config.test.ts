import { describe, expect, it } from 'vitest';
import { DEFAULT_AGENTS, parseAgentsSettings } from '../../../lambda/config/agents-config.js';

describe('agents settings', () => {
  it('defaults to disabled', () => {
    expect(parseAgentsSettings(undefined)).toEqual({ value: DEFAULT_AGENTS, problems: [] });
  });

  it('reads enabled, tag, staleAfter; the association follows the tag', () => {
    expect(
      parseAgentsSettings({
        enabled: true,
        tag: { key: 'cloudjail:agent', value: 'on' },
        staleAfter: '10m',
      }).value,
    ).toEqual({
      enabled: true,
      tag: { key: 'cloudjail:agent', value: 'on' },
      staleAfterMs: 600_000,
      association: true,
    });
    expect(parseAgentsSettings({ enabled: true }).value?.association).toBe(false);
  });

  it('names every problem', () => {
    const { problems } = parseAgentsSettings({
      enabled: 'yes',
      tag: { key: 'aws:x', value: 'v' },
      staleAfter: '10s',
      colour: 1,
    });
    expect(problems).toEqual([
      'agents.colour: unknown key (expected one of enabled, tag, staleAfter, association)',
      'agents.enabled: must be true or false',
      'agents.tag.key: "aws:x" is not a usable EC2 tag key',
      'agents.staleAfter: "10s" must be a duration of at least 1m',
      'agents: "tag"/"association" need "enabled": true',
    ]);
    expect(parseAgentsSettings({ enabled: true, association: true }).problems).toEqual([
      'agents.association: needs "tag" (the instances the association targets)',
    ]);
  });
});
