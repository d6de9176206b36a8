/**
 * Health of the host tier: each agent's heartbeat against the published serial, classified as
 * - `current`: heard from within `staleAfter`, enforcing the published serial (or catching up on
 *   a list published less than `staleAfter` ago);
 * - `behind`: heard from, but enforcing an older serial (or none) for longer than `staleAfter`;
 * - `silent`: no heartbeat for longer than `staleAfter` (host down, agent stopped, no S3 access).
 * Pure: heartbeats, the published serial and the time in; counts and rows out.
 */
import type { AgentHeartbeat } from './ban-list/heartbeat.js';

export type AgentHealthState = 'current' | 'behind' | 'silent';

/** The list the enforcer published last. */
export interface PublishedSerial {
  readonly serial: number;
  /** Epoch ms of the publication (the list's generatedAt). */
  readonly publishedAt: number;
}

export interface AgentHealthRow {
  readonly agentId: string;
  readonly hostname: string;
  readonly state: AgentHealthState;
  readonly appliedSerial: number | null;
  /** ms since the heartbeat. */
  readonly ageMs: number;
  readonly elements: number;
  readonly lastError: string | null;
}

export interface AgentHealth {
  readonly current: number;
  readonly behind: number;
  readonly silent: number;
  readonly agents: readonly AgentHealthRow[];
}

export function classifyAgent(
  heartbeat: AgentHeartbeat,
  published: PublishedSerial | undefined,
  now: number,
  staleAfterMs: number,
): AgentHealthState {
  if (now - heartbeat.at > staleAfterMs) return 'silent';
  if (!published) return 'current';
  const behind = heartbeat.appliedSerial === null || heartbeat.appliedSerial < published.serial;
  return behind && now - published.publishedAt > staleAfterMs ? 'behind' : 'current';
}

export function agentHealth(
  heartbeats: readonly AgentHeartbeat[],
  published: PublishedSerial | undefined,
  now: number,
  staleAfterMs: number,
): AgentHealth {
  const agents = heartbeats
    .map(
      (h): AgentHealthRow => ({
        agentId: h.agentId,
        hostname: h.hostname,
        state: classifyAgent(h, published, now, staleAfterMs),
        appliedSerial: h.appliedSerial,
        ageMs: Math.max(0, now - h.at),
        elements: h.elements,
        lastError: h.lastError,
      }),
    )
    .sort((a, b) => a.agentId.localeCompare(b.agentId));
  const count = (s: AgentHealthState) => agents.filter((a) => a.state === s).length;
  return { current: count('current'), behind: count('behind'), silent: count('silent'), agents };
}
