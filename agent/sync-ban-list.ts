/**
 * The agent's one step: poll the ban list, validate it, decide, apply it in one nft transaction,
 * remember what was applied, and say so in one log line. Orchestration only: planning is in
 * nft-plan.ts, decisions in apply-decision.ts, I/O behind agent/ports.ts.
 *
 * Fail-safe: a corrupt list, an older serial or a failed nft run changes nothing in the kernel;
 * the enforcement in place stays and the error is logged and reported in the heartbeat.
 */
import { gunzipSync } from 'node:zlib';
import type { BanList } from '../lambda/core/ban-list/schema.js';
import { banDiff, decideApply } from './apply-decision.js';
import { parseBanList } from './ban-list-validation.js';
import { type PlanOptions, planNft } from './nft-plan.js';
import type { AgentState, AgentStateStore, BanListSource, Nftables } from './ports.js';

export interface SyncDeps {
  readonly source: BanListSource;
  readonly nft: Nftables;
  readonly state: AgentStateStore;
  readonly now: () => number;
  readonly log: (line: string) => void;
  readonly plan?: PlanOptions;
}

/** What the agent holds in memory between syncs. */
export interface SyncMemory {
  state: AgentState;
  /** The list enforced now (re-applied if the table disappears). */
  applied: BanList | undefined;
  firstSync: boolean;
}

export type SyncOutcome =
  | { readonly kind: 'applied'; readonly serial: number; readonly elements: number }
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'refused'; readonly error: string }
  | { readonly kind: 'failed'; readonly error: string };

export function initialMemory(state: AgentStateStore): SyncMemory {
  return { state: state.read(), applied: undefined, firstSync: true };
}

/** Decompresses a gzip body (the published form); plain JSON is accepted too. */
export function bodyText(body: Uint8Array): string {
  const gzip = body[0] === 0x1f && body[1] === 0x8b;
  return Buffer.from(gzip ? gunzipSync(body) : body).toString('utf8');
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function applyList(
  deps: SyncDeps,
  memory: SyncMemory,
  list: BanList,
  etag: string | null,
  why: string,
): Promise<SyncOutcome> {
  const started = deps.now();
  const plan = planNft(list, started, deps.plan);
  try {
    await deps.nft.apply(plan.script);
  } catch (e) {
    const error = `nft refused the script for serial ${list.serial}: ${message(e)}`;
    deps.log(`${error}; enforcement unchanged (serial ${memory.state.appliedSerial ?? 'none'})`);
    memory.state = { ...memory.state, lastError: error, lastPollAt: started };
    deps.state.write(memory.state);
    return { kind: 'failed', error };
  }
  const elements = plan.banElements.v4 + plan.banElements.v6;
  const diff = banDiff(memory.applied, list);
  deps.log(
    `applied ban list serial ${list.serial} (${why}, was ${memory.state.appliedSerial ?? 'none'}): +${diff.added} -${diff.removed} bans, ${elements} elements (IPv4 ${plan.banElements.v4}, IPv6 ${plan.banElements.v6}), ${plan.allowElements} allowlisted, ${plan.expired} expired skipped, ${deps.now() - started} ms`,
  );
  memory.applied = list;
  memory.state = {
    appliedSerial: list.serial,
    appliedAt: started,
    etag,
    elements,
    lastPollAt: started,
    lastError: null,
  };
  deps.state.write(memory.state);
  return { kind: 'applied', serial: list.serial, elements };
}

/** One poll → validate → apply cycle. Never throws for a bad list or a failed apply. */
export async function syncOnce(deps: SyncDeps, memory: SyncMemory): Promise<SyncOutcome> {
  const now = deps.now();
  const firstSync = memory.firstSync;
  memory.firstSync = false;
  let tableExists: boolean;
  let fetched: Awaited<ReturnType<BanListSource['fetch']>>;
  try {
    tableExists = await deps.nft.tableExists();
    // The first sync downloads the list whatever its ETag: the table may need re-making.
    const etag = firstSync || !tableExists ? undefined : (memory.state.etag ?? undefined);
    fetched = await deps.source.fetch(etag);
  } catch (e) {
    const error = `cannot read ${deps.source.describe}: ${message(e)}`;
    if (memory.state.lastError !== error) deps.log(`${error}; enforcement unchanged`);
    memory.state = { ...memory.state, lastError: error, lastPollAt: now };
    return { kind: 'failed', error };
  }
  if (fetched.kind === 'not-modified') {
    memory.state = { ...memory.state, lastPollAt: now };
    return { kind: 'unchanged' };
  }
  const etag = fetched.etag ?? null;
  let list: BanList;
  try {
    list = parseBanList(bodyText(fetched.body));
  } catch (e) {
    return refuse(
      deps,
      memory,
      `refused ${deps.source.describe} (etag ${etag}): ${message(e)}`,
      etag,
      now,
    );
  }
  const decision = decideApply(list.serial, memory.state.appliedSerial, { firstSync, tableExists });
  switch (decision.kind) {
    case 'older':
      return refuse(
        deps,
        memory,
        `refused ban list serial ${list.serial}: older than the applied serial ${memory.state.appliedSerial}`,
        etag,
        now,
      );
    case 'same':
      memory.state = { ...memory.state, etag, lastPollAt: now, lastError: null };
      memory.applied ??= list;
      return { kind: 'unchanged' };
    case 'apply':
      return applyList(deps, memory, list, etag, decision.reason);
  }
}

function refuse(
  deps: SyncDeps,
  memory: SyncMemory,
  error: string,
  etag: string | null,
  now: number,
): SyncOutcome {
  deps.log(`${error}; enforcement unchanged (serial ${memory.state.appliedSerial ?? 'none'})`);
  // The refused object's ETag is remembered: it is not downloaded and refused again every poll.
  memory.state = { ...memory.state, etag, lastPollAt: now, lastError: error };
  deps.state.write(memory.state);
  return { kind: 'refused', error };
}
