/**
 * The optional `agents` section: the host tier (the `cloudjail agent` on every SBC).
 *
 * ```json
 * "agents": { "enabled": true, "tag": { "key": "cloudjail:agent", "value": "enabled" },
 *             "staleAfter": "5m", "association": true }
 * ```
 * - `enabled` (default false): the stack grants the agent policy, ships the agent bundle as an
 *   asset, emits agent-health metrics and alarms on agents behind or silent;
 * - `tag`: instances carrying it get the SSM State Manager association that installs the agent
 *   and keeps it running (`association`, default true when a tag is given);
 * - `staleAfter` (default 5m): an agent behind or silent for longer raises the alarm.
 */
import { parseDuration } from '../core/policy/duration.js';
import type { Parsed } from './parsed.js';

export interface AgentsSettings {
  readonly enabled: boolean;
  readonly tag: { readonly key: string; readonly value: string } | undefined;
  readonly staleAfterMs: number;
  readonly association: boolean;
}

export const DEFAULT_AGENTS: AgentsSettings = {
  enabled: false,
  tag: undefined,
  staleAfterMs: 300_000,
  association: false,
};

const KEYS = ['enabled', 'tag', 'staleAfter', 'association'];
// EC2 tag keys: 1-128 characters, values 0-256; `aws:` is reserved.
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

function record(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseAgentsSettings(raw: unknown, path = 'agents'): Parsed<AgentsSettings> {
  if (raw === undefined) return { value: DEFAULT_AGENTS, problems: [] };
  if (!record(raw)) return { value: undefined, problems: [`${path}: must be an object`] };
  const problems: string[] = [];
  for (const key of Object.keys(raw)) {
    if (!KEYS.includes(key) && !key.startsWith('//'))
      problems.push(`${path}.${key}: unknown key (expected one of ${KEYS.join(', ')})`);
  }
  const enabled = raw['enabled'] ?? false;
  if (typeof enabled !== 'boolean') problems.push(`${path}.enabled: must be true or false`);
  let tag: AgentsSettings['tag'];
  const rawTag = raw['tag'];
  if (rawTag !== undefined) {
    if (
      !record(rawTag) ||
      typeof rawTag['key'] !== 'string' ||
      typeof rawTag['value'] !== 'string'
    ) {
      problems.push(`${path}.tag: must be { "key": "<tag key>", "value": "<tag value>" }`);
    } else {
      const key = rawTag['key'];
      const value = rawTag['value'];
      if (key.length < 1 || key.length > 128 || !TAG_TEXT.test(key) || key.startsWith('aws:'))
        problems.push(`${path}.tag.key: ${JSON.stringify(key)} is not a usable EC2 tag key`);
      if (value.length > 256 || !TAG_TEXT.test(value))
        problems.push(`${path}.tag.value: ${JSON.stringify(value)} is not a valid EC2 tag value`);
      tag = { key, value };
    }
  }
  const staleText = raw['staleAfter'] ?? '5m';
  const staleAfterMs =
    typeof staleText === 'string' || typeof staleText === 'number'
      ? parseDuration(staleText)
      : undefined;
  if (staleAfterMs === undefined || staleAfterMs < 60_000)
    problems.push(
      `${path}.staleAfter: ${JSON.stringify(staleText)} must be a duration of at least 1m`,
    );
  const association = raw['association'] ?? tag !== undefined;
  if (typeof association !== 'boolean') problems.push(`${path}.association: must be true or false`);
  else if (association && rawTag === undefined)
    problems.push(`${path}.association: needs "tag" (the instances the association targets)`);
  if (enabled !== true && (rawTag !== undefined || raw['association'] === true))
    problems.push(`${path}: "tag"/"association" need "enabled": true`);
  if (problems.length > 0) return { value: undefined, problems };
  return {
    value: {
      enabled: enabled === true,
      tag,
      staleAfterMs: staleAfterMs ?? DEFAULT_AGENTS.staleAfterMs,
      association: association === true,
    },
    problems: [],
  };
}
