/**
 * The agent's loop: sync every `interval` (±20 % jitter, so a fleet does not poll in step), write a
 * heartbeat every `heartbeatInterval` and at once after anything changed, until `signal` aborts.
 */
import { hostname } from 'node:os';
import {
  type AgentHeartbeat,
  HEARTBEAT_SCHEMA,
  HEARTBEAT_SCHEMA_VERSION,
} from '../lambda/core/ban-list/heartbeat.js';
import type { HeartbeatSink } from './ports.js';
import { type SyncDeps, type SyncMemory, type SyncOutcome, syncOnce } from './sync-ban-list.js';

export const AGENT_VERSION = '0.1.0';

export interface RunOptions {
  readonly intervalMs: number;
  readonly heartbeatIntervalMs: number;
  readonly agentId: string;
  readonly heartbeat: HeartbeatSink | undefined;
  readonly signal: AbortSignal;
  /** Jitter source in [0, 1) (tests pass a fixed one). */
  readonly random?: () => number;
}

export function heartbeatOf(memory: SyncMemory, agentId: string, at: number): AgentHeartbeat {
  return {
    schema: HEARTBEAT_SCHEMA,
    schemaVersion: HEARTBEAT_SCHEMA_VERSION,
    agentId,
    hostname: hostname(),
    appliedSerial: memory.state.appliedSerial,
    elements: memory.state.elements,
    lastError: memory.state.lastError,
    at,
    version: AGENT_VERSION,
  };
}

/** Interval with ±20 % jitter. */
export function jittered(intervalMs: number, random: () => number): number {
  return Math.round(intervalMs * (0.8 + 0.4 * random()));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export async function sendHeartbeat(
  deps: SyncDeps,
  memory: SyncMemory,
  options: Pick<RunOptions, 'agentId' | 'heartbeat'>,
): Promise<void> {
  if (!options.heartbeat) return;
  try {
    await options.heartbeat.put(heartbeatOf(memory, options.agentId, deps.now()));
  } catch (e) {
    deps.log(`heartbeat not written: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export async function runAgent(
  deps: SyncDeps,
  memory: SyncMemory,
  options: RunOptions,
): Promise<void> {
  const random = options.random ?? Math.random;
  let lastHeartbeat = -Infinity;
  let lastError: string | null = memory.state.lastError;
  while (!options.signal.aborted) {
    const outcome: SyncOutcome = await syncOnce(deps, memory);
    const now = deps.now();
    const changed = outcome.kind === 'applied' || memory.state.lastError !== lastError;
    lastError = memory.state.lastError;
    if (changed || now - lastHeartbeat >= options.heartbeatIntervalMs) {
      lastHeartbeat = now;
      await sendHeartbeat(deps, memory, options);
    }
    await sleep(jittered(options.intervalMs, random), options.signal);
  }
}
