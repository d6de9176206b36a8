/**
 * The embedded pipeline: the real detector use case and the real enforcer use case wired to an
 * in-process DynamoDB engine (dynalite) and a local EC2 endpoint holding one sample network ACL
 * (an allow rule) per configured target, with a settable clock. `npm start`, `cloudjail replay` and
 * the CLI tests run on it; nothing here talks to AWS. The host tier too: each enforcer run
 * publishes the ban list to a local S3 API (local/s3-endpoint.ts), where `cloudjail agent --local`
 * polls it.
 */
import { loadBuiltinOrFileFilter } from '../lambda/adapters/filter-files.js';
import { MemoryBanListPublisher } from '../lambda/adapters/memory-ban-list-publisher.js';
import { MemoryBanStore } from '../lambda/adapters/memory-ban-store.js';
import { defaultDenyEntries, MemoryNetworkAcls } from '../lambda/adapters/memory-network-acls.js';
import type { CloudjailConfig } from '../lambda/config/cloudjail-config.js';
import type { JailConfig } from '../lambda/config/jail-config.js';
import type { BanList } from '../lambda/core/ban-list/schema.js';
import type { BanListPublisher } from '../lambda/ports/ban-list-publisher.js';
import type { BanStore } from '../lambda/ports/ban-store.js';
import { RecordingEnforcementTrigger } from '../lambda/ports/enforcement-trigger.js';
import type { FailureWindowReader } from '../lambda/ports/failure-windows.js';
import type { NaclEntry, NetworkAclPort } from '../lambda/ports/network-acls.js';
import { type EnforcementReport, enforceBans } from '../lambda/use-cases/enforce-bans.js';
import {
  type IngestReport,
  ingestLogEvents,
  type JailRuntime,
  type LogBatch,
} from '../lambda/use-cases/ingest-log-events.js';
import { PublicationMemory } from '../lambda/use-cases/publish-ban-list.js';
import type { LocalEc2 } from './ec2-endpoint.js';
import type { EmbeddedDynamoDb } from './embedded-dynamodb.js';
import type { LocalS3 } from './s3-endpoint.js';
import { sampleAcl } from './sample-acl.js';

/** A clock the caller sets: replay advances it to each batch's own log time. */
export class SettableClock {
  constructor(private time: number) {}
  now(): number {
    return this.time;
  }
  set(time: number): void {
    this.time = time;
  }
}

/** Builds the detector's jails (filters loaded once) from a validated configuration. */
export function jailRuntimes(jails: readonly JailConfig[]): JailRuntime[] {
  return jails
    .filter((config) => config.filter !== '')
    .map((config) => {
      const filter = loadBuiltinOrFileFilter(config.filter);
      return { config, createMatcher: () => filter.createMatcher({ timeZone: config.timezone }) };
    });
}

/** One inbound entry of a NACL, with the NACL's id (what the demo and `replay` print). */
export interface AclRow extends NaclEntry {
  readonly naclId: string;
}

export interface EmbeddedPipeline {
  readonly config: CloudjailConfig;
  readonly jails: readonly JailRuntime[];
  readonly dynamodb: EmbeddedDynamoDb;
  readonly ec2: LocalEc2;
  /** The local S3 API holding the published ban list. */
  readonly s3: LocalS3;
  /** The host tier's publisher, and what an agent would read from it. */
  readonly banList: EmbeddedBanList;
  readonly store: BanStore;
  readonly failures: FailureWindowReader;
  readonly clock: SettableClock;
  /** Runs one CloudWatch-style batch through the detector use case at the clock's time. */
  ingest(batch: LogBatch): Promise<IngestReport>;
  /**
   * Runs the enforcer use case at the clock's time. `publish: false` leaves the host tier's ban
   * list as it is (replay publishes once, at the log's end: no agent reads the lists between).
   */
  enforce(options?: {
    readonly dryRun?: boolean;
    readonly publish?: boolean;
  }): Promise<EnforcementReport>;
  /** Inbound entries of every target NACL (allow rules and default denies included), by rule. */
  inboundEntries(): AclRow[];
  stop(): Promise<void>;
}

/** The pipeline without its services: what `startEmbedded({ inMemory: true })` gives. */
export type PipelineCore = Omit<EmbeddedPipeline, 'dynamodb' | 'ec2' | 's3'>;

/** A ban-list publisher the embedded mode can read back (local S3, or memory for replay). */
export type EmbeddedBanList = BanListPublisher & { read(): Promise<BanList | undefined> };

export interface EmbeddedOptions {
  readonly config: CloudjailConfig;
  /** Jails to run (default: the configuration's). */
  readonly jails?: readonly JailRuntime[];
  /** Start time of the clock (epoch ms; default 0: replay sets it before the first batch). */
  readonly startAt?: number;
  /**
   * Store and NACLs in process memory (MemoryBanStore and MemoryNetworkAcls, the contract twins of
   * the DynamoDB store and the EC2 adapter) instead of dynalite and the EC2 endpoint over HTTP:
   * `replay`'s fast path, the same decisions without a request per batch.
   */
  readonly inMemory?: boolean;
}

/** Where the embedded pipeline keeps its state: process memory, or the local services. */
export interface Backend {
  readonly dynamodb: EmbeddedDynamoDb | undefined;
  readonly ec2: LocalEc2 | undefined;
  readonly s3: LocalS3 | undefined;
  readonly banList: EmbeddedBanList;
  readonly store: BanStore;
  readonly failures: FailureWindowReader;
  readonly nacls: NetworkAclPort;
  entries(naclId: string): NaclEntry[];
  stop(): Promise<void>;
}

function memoryBackend(config: CloudjailConfig): Backend {
  const store = new MemoryBanStore();
  const nacls = new MemoryNetworkAcls({
    ruleQuota: config.enforcement.ruleQuota,
    acls: config.targets.map((t) => ({
      naclId: t.naclId,
      entries: [...(sampleAcl(t.naclId).entries ?? []), ...defaultDenyEntries()],
    })),
  });
  return {
    dynamodb: undefined,
    ec2: undefined,
    s3: undefined,
    // Replay reads back only the last list: keep no history of a long log's publications.
    banList: new MemoryBanListPublisher({ history: false }),
    store,
    failures: store,
    nacls,
    entries: (naclId) => nacls.entries(naclId),
    stop: async () => {},
  };
}

export async function startEmbedded(
  options: EmbeddedOptions & { readonly inMemory: true },
): Promise<PipelineCore>;
export async function startEmbedded(options: EmbeddedOptions): Promise<EmbeddedPipeline>;
export async function startEmbedded(options: EmbeddedOptions): Promise<PipelineCore> {
  const { config } = options;
  const jails = options.jails ?? jailRuntimes(config.jails);
  const clock = new SettableClock(options.startAt ?? 0);
  const backend = options.inMemory
    ? memoryBackend(config)
    : // Loaded on demand: dynalite, s3rver and the AWS SDK clients are most of a replay's start.
      await (await import('./embedded-services.js')).serviceBackend(config);
  const { dynamodb, ec2, s3, banList, store, failures, nacls } = backend;
  const publicationMemory = new PublicationMemory();
  const trigger = new RecordingEnforcementTrigger();
  const now = () => clock.now();
  // The detector caches the runtime allowlist (per container, a minute); here it is read once
  // per clock minute, so a long replay does not pay a store request per batch.
  let ignores:
    | {
        minute: number;
        entries: ReturnType<typeof store.listIgnores>;
        overrides: ReturnType<typeof store.listJailOverrides>;
      }
    | undefined;
  const runtimeState = () => {
    const minute = Math.floor(clock.now() / 60_000);
    if (ignores?.minute !== minute) {
      ignores = { minute, entries: store.listIgnores(), overrides: store.listJailOverrides() };
    }
    return ignores;
  };
  return {
    config,
    jails,
    ...(dynamodb && ec2 && s3 ? { dynamodb, ec2, s3 } : {}),
    banList,
    store,
    failures,
    clock,
    ingest: (batch) =>
      ingestLogEvents(batch, {
        store,
        trigger,
        jails,
        ignoreip: config.ignoreip,
        runtimeIgnores: () => runtimeState().entries,
        jailOverrides: () => runtimeState().overrides,
        now,
      }),
    enforce: (opts = {}) =>
      enforceBans(
        {
          store,
          nacls,
          jails: config.jails,
          ignoreip: config.ignoreip,
          ...(opts.publish === false ? {} : { publisher: banList }),
          publicationMemory,
          // No lease: embedded runs are already serialized (one process; the local Lambda endpoint
          // queues `cloudjail local` runs), and replay runs the enforcer after every batch.
          targets: config.targets,
          settings: config.enforcement,
          now,
          // No real waiting in the embedded mode: the local endpoint never throttles.
          sleep: async () => {},
        },
        { dryRun: opts.dryRun ?? config.enforcement.dryRun },
      ),
    inboundEntries: () =>
      config.targets.flatMap((t) =>
        backend
          .entries(t.naclId)
          .filter((e) => !e.egress)
          .sort((a, b) => a.ruleNumber - b.ruleNumber)
          .map((e) => ({ ...e, naclId: t.naclId })),
      ),
    async stop() {
      await backend.stop();
    },
  };
}
