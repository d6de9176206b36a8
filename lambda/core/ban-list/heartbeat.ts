/**
 * The host agent's heartbeat: one small JSON record per agent, written by that agent only (its
 * IAM grant covers its own key and nothing else), read by `cloudjail status` / `doctor` and the
 * enforcer's agent-health metrics. Pure types and constants: no I/O.
 *
 * Stored in the ban-list bucket under {@link HEARTBEAT_PREFIX}`<agentId>.json`.
 */

export const HEARTBEAT_SCHEMA = 'cloudjail.agent-heartbeat';
export const HEARTBEAT_SCHEMA_VERSION = 1;

/** Key prefix of heartbeat records in the ban-list bucket. */
export const HEARTBEAT_PREFIX = 'agents/';

/** Key of the published ban list in its bucket. */
export const BAN_LIST_KEY = 'ban-list/v1/bans.json.gz';

export interface AgentHeartbeat {
  readonly schema: typeof HEARTBEAT_SCHEMA;
  readonly schemaVersion: typeof HEARTBEAT_SCHEMA_VERSION;
  /** EC2 instance id when known, else the hostname. */
  readonly agentId: string;
  readonly hostname: string;
  /** Serial of the ban list the host enforces now; null before the first apply. */
  readonly appliedSerial: number | null;
  /** Elements in the agent's nftables sets after the last apply. */
  readonly elements: number;
  /** The last apply or poll error, null when the last attempt succeeded. */
  readonly lastError: string | null;
  /** Epoch ms of this heartbeat. */
  readonly at: number;
  /** Agent version (package.json). */
  readonly version: string;
}
