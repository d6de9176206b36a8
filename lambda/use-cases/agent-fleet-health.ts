/**
 * Reads the host tier's health: heartbeats + published serial through the reader port, classified
 * by core/agent-health.ts. Used by `cloudjail status` and by the enforcer (AgentsCurrent /
 * AgentsBehind / AgentsSilent metrics, the alarm's input).
 */
import { type AgentHealth, agentHealth } from '../core/agent-health.js';
import type { AgentHeartbeatReader } from '../ports/agent-heartbeats.js';

export async function readAgentHealth(
  reader: AgentHeartbeatReader,
  staleAfterMs: number,
  now: number,
): Promise<AgentHealth & { readonly publishedSerial: number | null }> {
  const [heartbeats, published] = await Promise.all([reader.list(), reader.publishedSerial()]);
  return {
    ...agentHealth(heartbeats, published, now, staleAfterMs),
    publishedSerial: published?.serial ?? null,
  };
}
