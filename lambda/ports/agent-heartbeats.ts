/** Reading the host agents' heartbeats and the published serial (status, enforcer metrics). */
import type { PublishedSerial } from '../core/agent-health.js';
import type { AgentHeartbeat } from '../core/ban-list/heartbeat.js';

export interface AgentHeartbeatReader {
  /** Every well-formed heartbeat record (malformed ones are skipped). */
  list(): Promise<AgentHeartbeat[]>;
  /** Serial and time of the published ban list; undefined when none is published yet. */
  publishedSerial(): Promise<PublishedSerial | undefined>;
}
