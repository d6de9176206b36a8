/**
 * What the agent's sync step needs from the world, as interfaces: the ban-list object (S3), the
 * kernel's nftables (the `nft` command), the heartbeat record (S3) and its own state file. The
 * adapters live in agent/adapters/; tests use real ones (local S3, nft in a network namespace).
 */
import type { AgentHeartbeat } from '../lambda/core/ban-list/heartbeat.js';

export type FetchResult =
  | { readonly kind: 'not-modified' }
  | { readonly kind: 'object'; readonly body: Uint8Array; readonly etag: string | undefined };

/** The published ban list: conditional GET by ETag. */
export interface BanListSource {
  /** Where the list comes from, for log lines (`s3://bucket/key`). */
  readonly describe: string;
  fetch(etag: string | undefined): Promise<FetchResult>;
}

/** Counts read back from the kernel for `agent status`. */
export interface TableSummary {
  readonly sets: readonly { readonly name: string; readonly elements: number }[];
  /** Packets matched by the ban rules (drops and rejects) since the table was made. */
  readonly packetsDenied: number;
}

/** nftables, limited to table inet cloudjail (the scripts come from agent/nft-plan.ts). */
export interface Nftables {
  /** Runs one script as one transaction (`nft -f -`); rejects with nft's message. */
  apply(script: string): Promise<void>;
  tableExists(): Promise<boolean>;
  /** undefined when the table does not exist. */
  summary(): Promise<TableSummary | undefined>;
}

export interface HeartbeatSink {
  put(heartbeat: AgentHeartbeat): Promise<void>;
}

/** What the agent keeps across restarts (the kernel keeps the table itself). */
export interface AgentState {
  readonly appliedSerial: number | null;
  /** Epoch ms of the last successful apply. */
  readonly appliedAt: number | null;
  /** ETag of the last object applied (or refused: it is not downloaded again). */
  readonly etag: string | null;
  readonly elements: number;
  readonly lastPollAt: number | null;
  readonly lastError: string | null;
}

export const INITIAL_STATE: AgentState = {
  appliedSerial: null,
  appliedAt: null,
  etag: null,
  elements: 0,
  lastPollAt: null,
  lastError: null,
};

export interface AgentStateStore {
  readonly path: string;
  read(): AgentState;
  write(state: AgentState): void;
}
