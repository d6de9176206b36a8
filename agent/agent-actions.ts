/**
 * What `cloudjail agent` does (agent/agent-command.ts declares the options and loads this module
 * when a subcommand runs, so other CLI commands never load the S3 client).
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { S3Client } from '@aws-sdk/client-s3';
import { CliError, ExitCode } from '../cli/exit-codes.js';
import { durationOption } from '../cli/input.js';
import { formatDuration } from '../lambda/core/policy/duration.js';
import { callerUserId } from './adapters/caller-identity.js';
import { FileStateStore } from './adapters/file-state-store.js';
import { ec2InstanceId } from './adapters/instance-identity.js';
import { NftCommand } from './adapters/nft-command.js';
import { S3BanListSource } from './adapters/s3-ban-list-source.js';
import { S3HeartbeatSink } from './adapters/s3-heartbeat-sink.js';
import { parseBanList } from './ban-list-validation.js';
import { planNft, uninstallScript } from './nft-plan.js';
import { runAgent, sendHeartbeat } from './run-agent.js';
import { agentS3Client, type S3Target } from './s3-client.js';
import { bodyText, initialMemory, type SyncDeps, syncOnce } from './sync-ban-list.js';

export interface AgentOptions {
  readonly bucket?: string;
  readonly key: string;
  readonly region?: string;
  readonly endpoint?: string;
  readonly local?: boolean;
  readonly localState: string;
  readonly stateFile: string;
  readonly interval: string;
  readonly heartbeatInterval: string;
  readonly heartbeat: boolean;
  readonly agentId?: string;
  readonly once?: boolean;
  readonly dryRun?: boolean;
  readonly forward?: boolean;
  readonly json?: boolean;
}

function log(line: string): void {
  process.stderr.write(`cloudjail-agent: ${line}\n`);
}

/** Where the ban list is: --local (the `cloudjail local` state file) or --bucket [--endpoint]. */
function s3Target(options: AgentOptions): S3Target {
  if (options.local) {
    const path = options.localState;
    if (!existsSync(path))
      throw new CliError(
        `no local server: ${path} does not exist (start one with \`cloudjail local\`)`,
        ExitCode.NotFound,
      );
    let s3: { endpoint?: unknown; bucket?: unknown } | undefined;
    try {
      s3 = (JSON.parse(readFileSync(path, 'utf8')) as { s3?: typeof s3 }).s3;
    } catch {
      throw new CliError(`${path}: not a cloudjail local state file`);
    }
    if (typeof s3?.endpoint !== 'string' || typeof s3.bucket !== 'string')
      throw new CliError(`${path}: the local server publishes no ban list (no "s3" in its state)`);
    return { endpoint: s3.endpoint, bucket: s3.bucket };
  }
  const bucket = options.bucket ?? process.env.CLOUDJAIL_AGENT_BUCKET;
  if (!bucket)
    throw new CliError(
      '--bucket: the ban-list bucket is required (or --local, or CLOUDJAIL_AGENT_BUCKET)',
    );
  return {
    bucket,
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  };
}

/**
 * The heartbeat id: --agent-id; on EC2, the caller's `aws:userid` (`<role-id>:<instance-id>`: the
 * agent policy allows writing `agents/${aws:userid}.json` only), else the instance id; off EC2 the
 * hostname.
 */
async function agentId(options: AgentOptions, target: S3Target, client: S3Client): Promise<string> {
  if (options.agentId) return options.agentId;
  if (!target.endpoint) {
    const instance = await ec2InstanceId();
    if (instance) {
      try {
        const userId = await callerUserId(
          await client.config.credentials(),
          await client.config.region(),
        );
        if (userId) return userId;
      } catch {
        // No credentials: the heartbeat write fails and says so; the id stays the instance id.
      }
      return instance;
    }
  }
  return hostname();
}

export async function runCommand(options: AgentOptions): Promise<void> {
  const intervalMs = durationOption(options.interval, '--interval');
  const heartbeatIntervalMs = durationOption(options.heartbeatInterval, '--heartbeat-interval');
  const target = s3Target(options);
  const client = agentS3Client(target);
  const source = new S3BanListSource(client, target.bucket, options.key);
  try {
    if (options.dryRun) {
      const fetched = await source.fetch(undefined);
      if (fetched.kind !== 'object') throw new CliError('no ban list object', ExitCode.Failure);
      const plan = planNft(parseBanList(bodyText(fetched.body)), Date.now(), {
        forward: options.forward === true,
      });
      process.stdout.write(plan.script);
      return;
    }
    const state = new FileStateStore(options.stateFile);
    const deps: SyncDeps = {
      source,
      nft: new NftCommand(),
      state,
      now: () => Date.now(),
      log,
      plan: { forward: options.forward === true },
    };
    const memory = initialMemory(state);
    const id = await agentId(options, target, client);
    const heartbeat = options.heartbeat ? new S3HeartbeatSink(client, target.bucket) : undefined;
    if (options.once) {
      const outcome = await syncOnce(deps, memory);
      state.write(memory.state);
      await sendHeartbeat(deps, memory, { agentId: id, heartbeat });
      // bench:agent reads the agent's peak memory from this line.
      if (process.env.CLOUDJAIL_AGENT_STATS === '1')
        log(`max RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`);
      if (outcome.kind === 'refused') process.exitCode = ExitCode.Refused;
      if (outcome.kind === 'failed') process.exitCode = ExitCode.Failure;
      return;
    }
    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    log(
      `polling ${source.describe} every ${formatDuration(intervalMs)} as ${id} (state ${state.path}, applied serial ${memory.state.appliedSerial ?? 'none'})`,
    );
    await runAgent(deps, memory, {
      intervalMs,
      heartbeatIntervalMs,
      agentId: id,
      heartbeat,
      signal: abort.signal,
    });
    state.write(memory.state);
    log('stopped (table inet cloudjail stays: bans keep expiring on their own)');
  } finally {
    client.destroy();
  }
}

function ago(at: number | null, now: number): string {
  return at === null
    ? 'never'
    : `${new Date(at).toISOString()} (${formatDuration(Math.max(0, Math.round((now - at) / 1000) * 1000))} ago)`;
}

export async function statusCommand(
  options: Pick<AgentOptions, 'stateFile' | 'json'>,
): Promise<void> {
  const summary = await new NftCommand().summary();
  const state = new FileStateStore(options.stateFile).read();
  const now = Date.now();
  const elements = (summary?.sets ?? []).filter((s) => /^g\d+_v[46]h?$/.test(s.name));
  const total = elements.reduce((n, s) => n + s.elements, 0);
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ table: summary !== undefined, sets: summary?.sets ?? [], banElements: total, packetsDenied: summary?.packetsDenied ?? 0, ...state })}\n`,
    );
    return;
  }
  const lines = [
    'Agent status',
    `|- Table inet cloudjail:\t${summary ? 'present' : 'absent'}`,
    `|- Ban elements:\t${total}${summary ? ` (${summary.sets.map((s) => `${s.name} ${s.elements}`).join(', ')})` : ''}`,
    `|- Packets denied:\t${summary?.packetsDenied ?? 0}`,
    `|- Applied serial:\t${state.appliedSerial ?? 'none'}${state.appliedAt ? `, applied ${ago(state.appliedAt, now)}` : ''}`,
    `|- Last poll:\t${ago(state.lastPollAt, now)}`,
    `\`- Last error:\t${state.lastError ?? 'none'}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

export async function uninstallCommand(): Promise<void> {
  await new NftCommand().apply(uninstallScript());
  log('deleted table inet cloudjail');
}
