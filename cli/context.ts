/**
 * Where a CLI command operates: a deployed stack (names resolved from the CloudFormation stack
 * outputs, the standard AWS credential chain) or the embedded mode (`--local`: a running
 * `cloudjail local` server, found through its state file). Either way the command gets the same
 * set of adapters: the ban store, the failure windows, the configuration and an enforcer it can run
 * and wait for.
 */

import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// Types only at load time: the SDK clients are imported when a command connects, so `--help`,
// bad-input errors and the embedded commands do not pay for loading them.
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import type { Command } from 'commander';
import type { CloudjailConfig } from '../lambda/config/cloudjail-config.js';
import type { AgentHeartbeatReader } from '../lambda/ports/agent-heartbeats.js';
import type { BanListReader } from '../lambda/ports/ban-list-publisher.js';
import type { BanStore } from '../lambda/ports/ban-store.js';
import type { FailureWindowReader } from '../lambda/ports/failure-windows.js';
import type { EnforcementReport } from '../lambda/use-cases/enforce-bans.js';
import { DEFAULT_STACK_NAME, STACK_OUTPUTS } from '../lib/outputs.js';
import { LOCAL_CREDENTIALS } from '../local/loopback-server.js';
import { CliError, ExitCode } from './exit-codes.js';

export interface ConnectionOptions {
  readonly local?: boolean;
  readonly state?: string;
  readonly stack?: string;
  readonly region?: string;
}

/** What a `cloudjail local` server writes for the other commands (`--local`). */
export interface LocalState {
  readonly version: 1;
  readonly pid: number;
  readonly startedAt: string;
  readonly dynamodb: { readonly endpoint: string; readonly tableName: string };
  readonly ec2: { readonly endpoint: string; readonly region: string };
  /** The local Lambda Invoke endpoint serving the enforcer (local/lambda-endpoint.ts). */
  readonly lambda: { readonly endpoint: string; readonly enforcerFunctionName: string };
  /** The local S3 endpoint holding the published ban list and agent heartbeats (local/s3-endpoint.ts). */
  readonly s3?: { readonly endpoint: string; readonly bucket: string };
  /** The local CloudWatch Logs endpoint (local/logs-endpoint.ts). */
  readonly logs?: {
    readonly endpoint: string;
    readonly region: string;
    /** The subscription destination (the local detector's ARN). */
    readonly detectorArn?: string;
    /** A local function answering what the server knows (deliveries, the enforcer's last run). */
    readonly diagnosticsFunctionName?: string;
  };
  /** The raw configuration (the shape of cdk.json's `cloudjail` key). */
  readonly config: unknown;
}

export interface EnforceOptions {
  /** Report only, never mutate (what `status` uses). */
  readonly dryRun?: boolean;
}

export interface CliContext {
  /** For messages: `local server (state /tmp/…)` or `stack Cloudjail`. */
  readonly where: string;
  readonly config: CloudjailConfig;
  readonly store: BanStore;
  readonly failures: FailureWindowReader;
  /** The published ban list (host tier); undefined when the deployment has none. */
  readonly banList?: BanListReader;
  /** Runs the enforcer now and waits for its report. */
  enforce(reason: string, options?: EnforceOptions): Promise<EnforcementReport>;
  now(): number;
  /** The host agents' heartbeats (a local server with S3, or a stack with agents enabled). */
  readonly agentHeartbeats?: AgentHeartbeatReader;
  close(): void;
}

/** Default state file of `cloudjail local`. */
export function defaultStatePath(): string {
  return join(tmpdir(), 'cloudjail-local.json');
}

/** Adds `--local`, `--state`, `--stack` and `--region` to a command. */
export function addConnectionOptions(command: Command): Command {
  return command
    .option('--local', 'use the running `cloudjail local` server instead of a deployed stack')
    .option('--state <file>', 'state file of the local server (with --local)', defaultStatePath())
    .option('--stack <name>', 'CloudFormation stack of the deployment', DEFAULT_STACK_NAME)
    .option('--region <region>', 'AWS Region of the stack (default: the AWS SDK chain)');
}

async function parseConfig(raw: unknown, source: string): Promise<CloudjailConfig> {
  const [{ loadCloudjailConfig }, { ConfigError }] = await Promise.all([
    import('../lambda/config/cloudjail-config.js'),
    import('../lambda/core/errors.js'),
  ]);
  try {
    return loadCloudjailConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(`${source}: ${e.message}`, ExitCode.BadInput);
    throw e;
  }
}

/** The adapters every context needs, loaded on first use. */
async function storeAdapters() {
  const [{ DynamoDBClient }, { DynamoDbBanStore }, { DynamoDbFailureWindows }] = await Promise.all([
    import('@aws-sdk/client-dynamodb'),
    import('../lambda/adapters/dynamodb-ban-store.js'),
    import('../lambda/adapters/dynamodb-failure-windows.js'),
  ]);
  return { DynamoDBClient, DynamoDbBanStore, DynamoDbFailureWindows };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Reads and checks a local server's state file. */
export function readLocalState(path: string): LocalState {
  if (!existsSync(path)) {
    throw new CliError(
      `no local server: ${path} does not exist (start one with \`cloudjail local\`)`,
      ExitCode.NotFound,
    );
  }
  let state: LocalState;
  try {
    state = JSON.parse(readFileSync(path, 'utf8')) as LocalState;
  } catch {
    throw new CliError(`${path}: not a cloudjail local state file`, ExitCode.BadInput);
  }
  if (
    state?.version !== 1 ||
    typeof state.dynamodb?.endpoint !== 'string' ||
    typeof state.ec2?.endpoint !== 'string' ||
    typeof state.lambda?.endpoint !== 'string'
  ) {
    throw new CliError(`${path}: not a cloudjail local state file`, ExitCode.BadInput);
  }
  if (typeof state.pid === 'number' && !isAlive(state.pid)) {
    throw new CliError(
      `no local server: process ${state.pid} of ${path} is gone (start one with \`cloudjail local\`)`,
      ExitCode.NotFound,
    );
  }
  return state;
}

async function openLocal(statePath: string): Promise<CliContext> {
  const state = readLocalState(statePath);
  const config = await parseConfig(state.config, statePath);
  const [{ DynamoDBClient, DynamoDbBanStore, DynamoDbFailureWindows }, { LambdaClient }] =
    await Promise.all([storeAdapters(), import('@aws-sdk/client-lambda')]);
  const local = { region: state.ec2.region, credentials: LOCAL_CREDENTIALS, maxAttempts: 3 };
  const dynamo = new DynamoDBClient({ ...local, endpoint: state.dynamodb.endpoint });
  // The enforcer runs in the server, behind a local Lambda Invoke endpoint: the same invoke, wait
  // and report as against a deployed stack, and still one NACL writer.
  const lambda = new LambdaClient({ ...local, endpoint: state.lambda.endpoint, maxAttempts: 1 });
  const agents = state.s3 ? await heartbeatReader(state.s3.bucket, state.s3.endpoint) : undefined;
  const banList = state.s3 ? localBanList(state.s3) : undefined;
  return {
    where: `local server (state ${statePath})`,
    ...(agents ? { agentHeartbeats: agents.reader } : {}),
    config,
    store: new DynamoDbBanStore(dynamo, state.dynamodb.tableName),
    failures: new DynamoDbFailureWindows(dynamo, state.dynamodb.tableName),
    ...(banList ? { banList: banList.reader } : {}),
    enforce: (reason, options) =>
      invokeEnforcer(lambda, state.lambda.enforcerFunctionName, reason, options),
    now: () => Date.now(),
    close() {
      dynamo.destroy();
      lambda.destroy();
      agents?.close();
      banList?.destroy();
    },
  };
}

/** The S3 heartbeat reader of the host tier (local endpoint, or the AWS SDK chain). */
async function heartbeatReader(
  bucket: string,
  endpoint: string | undefined,
  region?: string,
): Promise<{ reader: AgentHeartbeatReader; close(): void }> {
  const [{ S3Client }, { S3AgentHeartbeats }] = await Promise.all([
    import('@aws-sdk/client-s3'),
    import('../lambda/adapters/s3-agent-heartbeats.js'),
  ]);
  const client = endpoint
    ? new S3Client({
        endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        maxAttempts: 2,
      })
    : new S3Client(region ? { region } : {});
  return { reader: new S3AgentHeartbeats(client, bucket), close: () => client.destroy() };
}

/**
 * A ban-list reader whose S3 client and adapter load on first use: only `status` reads the
 * publication, so the other commands do not pay for loading the S3 SDK.
 */
function lazyBanList(
  makeClient: () => Promise<import('@aws-sdk/client-s3').S3Client>,
  bucket: string,
) {
  let client: import('@aws-sdk/client-s3').S3Client | undefined;
  const reader: BanListReader = {
    async current() {
      const { S3BanListPublisher } = await import('../lambda/adapters/s3-ban-list-publisher.js');
      client ??= await makeClient();
      return new S3BanListPublisher({ client, bucket }).current();
    },
  };
  return { reader, destroy: () => client?.destroy() };
}

/** The published ban list of a local server (its local S3 API). */
function localBanList(s3: { readonly endpoint: string; readonly bucket: string }) {
  return lazyBanList(
    async () => (await import('../local/s3-endpoint.js')).localS3Client(s3.endpoint),
    s3.bucket,
  );
}

/** Deployed resources named by the stack outputs. */
export interface StackResources {
  readonly tableName: string;
  readonly enforcerFunctionName: string;
  /** Absent on stacks deployed before the host tier. */
  readonly banListBucket?: string;
  readonly config: CloudjailConfig;
  /** The host tier's bucket (agents enabled only). */
  readonly agentBucket?: string;
}

function awsErrorMessage(e: unknown): string {
  const err = e as { name?: string; message?: string };
  return `${err.name ?? 'Error'}: ${err.message ?? String(e)}`;
}

function isCredentialsError(e: unknown): boolean {
  const name = (e as { name?: string }).name ?? '';
  return /CredentialsProviderError|ExpiredToken|UnrecognizedClient|InvalidClientTokenId/.test(name);
}

/** Reads the stack outputs the CLI needs (lib/outputs.ts); clear errors for a missing stack or output. */
export async function resolveStack(
  cfn: CloudFormationClient,
  stackName: string,
): Promise<StackResources> {
  const { DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  let outputs: { OutputKey?: string; OutputValue?: string }[];
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = out.Stacks?.[0];
    if (!stack) throw new CliError(`stack ${stackName} not found`, ExitCode.NotFound);
    outputs = stack.Outputs ?? [];
  } catch (e) {
    if (e instanceof CliError) throw e;
    const message = (e as Error).message ?? '';
    if ((e as { name?: string }).name === 'ValidationError' && /does not exist/.test(message)) {
      throw new CliError(
        `stack ${stackName} not found (deploy it, or pass --stack/--region; --local for the embedded mode)`,
        ExitCode.NotFound,
      );
    }
    if (/Region is missing|Region not accepted/i.test(message)) {
      throw new CliError(
        `no valid AWS Region (${message}): pass --region, or set AWS_REGION (or a region in your AWS profile)`,
        ExitCode.BadInput,
      );
    }
    if (isCredentialsError(e)) {
      throw new CliError(
        `no usable AWS credentials (${awsErrorMessage(e)}); set AWS_PROFILE or use --local`,
        ExitCode.Failure,
      );
    }
    throw new CliError(`DescribeStacks ${stackName}: ${awsErrorMessage(e)}`, ExitCode.Failure);
  }
  const value = (key: string) => {
    const v = outputs.find((o) => o.OutputKey === key)?.OutputValue;
    if (v === undefined || v === '') {
      throw new CliError(
        `stack ${stackName} has no output ${key}: is it a cloudjail stack? (redeploy to update it)`,
        ExitCode.NotFound,
      );
    }
    return v;
  };
  const tableName = value(STACK_OUTPUTS.tableName);
  const enforcerFunctionName = value(STACK_OUTPUTS.enforcerFunctionName);
  let raw: unknown;
  try {
    raw = JSON.parse(value(STACK_OUTPUTS.config));
  } catch {
    throw new CliError(`stack ${stackName}: output ${STACK_OUTPUTS.config} is not JSON`);
  }
  const banListBucket = outputs.find(
    (o) => o.OutputKey === STACK_OUTPUTS.banListBucket,
  )?.OutputValue;
  const agentBucket = outputs.find((o) => o.OutputKey === STACK_OUTPUTS.agentBucket)?.OutputValue;
  return {
    tableName,
    enforcerFunctionName,
    ...(banListBucket ? { banListBucket } : {}),
    ...(agentBucket ? { agentBucket } : {}),
    config: await parseConfig(raw, `stack ${stackName} output ${STACK_OUTPUTS.config}`),
  };
}

/**
 * The enforcer could not be run now: throttled (a run holds its only concurrency slot) after every
 * retry, unreachable, or its lease held by another run. What the caller wrote stays; the next
 * scheduled run enforces it. Exit code {@link ExitCode.Pending}.
 */
export class EnforcementPendingError extends CliError {
  constructor(readonly why: string) {
    super(`enforcement pending: ${why}`, ExitCode.Pending);
    this.name = 'EnforcementPendingError';
  }
}

/** Backoff of the synchronous enforcer invoke, in ms per retry. */
export interface InvokeRetry {
  /** After TooManyRequestsException (a run holds the reserved concurrency of 1). */
  readonly throttledDelaysMs: readonly number[];
  /** After a connection failure or a 5xx from the Lambda service. */
  readonly unreachableDelaysMs: readonly number[];
}

export const INVOKE_RETRY: InvokeRetry = {
  throttledDelaysMs: [500, 1000, 2000, 4000, 8000],
  unreachableDelaysMs: [500, 1500],
};

function isThrottled(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    /TooManyRequests|Throttl|RequestLimitExceeded/.test(err.name ?? '') ||
    err.$metadata?.httpStatusCode === 429
  );
}

function isUnreachable(e: unknown): boolean {
  const err = e as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const status = err.$metadata?.httpStatusCode;
  return (
    /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|EPIPE/.test(
      `${err.code ?? ''} ${err.name ?? ''} ${(e as Error).message ?? ''}`,
    ) ||
    /TimeoutError|ServiceException|ServiceUnavailable|EC2ThrottledException|ResourceNotReady/.test(
      err.name ?? '',
    ) ||
    (status !== undefined && status >= 500)
  );
}

const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Invokes the enforcer synchronously and returns its report. Throttling and an unreachable
 * endpoint are retried with backoff, then reported as {@link EnforcementPendingError}; a function
 * error (the enforcer ran and failed) is a CliError (exit 1).
 */
export async function invokeEnforcer(
  lambda: LambdaClient,
  functionName: string,
  reason: string,
  options: EnforceOptions = {},
  retry: InvokeRetry = INVOKE_RETRY,
): Promise<EnforcementReport> {
  const { InvokeCommand } = await import('@aws-sdk/client-lambda');
  let out: InvokeCommandOutput;
  let throttled = 0;
  let unreachable = 0;
  for (;;) {
    try {
      out = await lambda.send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'RequestResponse',
          Payload: new TextEncoder().encode(
            JSON.stringify({
              source: 'cloudjail.cli',
              reason,
              ...(options.dryRun ? { dryRun: true } : {}),
            }),
          ),
        }),
      );
      break;
    } catch (e) {
      if (isThrottled(e)) {
        const delay = retry.throttledDelaysMs[throttled++];
        if (delay === undefined) {
          throw new EnforcementPendingError(
            `the enforcer ${functionName} stayed busy (${awsErrorMessage(e)}, ${throttled} attempts): another run holds its only concurrency slot`,
          );
        }
        await sleepMs(delay);
        continue;
      }
      if (isUnreachable(e)) {
        const delay = retry.unreachableDelaysMs[unreachable++];
        if (delay === undefined) {
          throw new EnforcementPendingError(
            `the enforcer ${functionName} is unreachable (${awsErrorMessage(e)}, ${unreachable} attempts)`,
          );
        }
        await sleepMs(delay);
        continue;
      }
      throw new CliError(`invoke ${functionName}: ${awsErrorMessage(e)}`, ExitCode.Failure);
    }
  }
  const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = text;
  }
  if (out.FunctionError) {
    const message =
      typeof body === 'object' && body !== null && 'errorMessage' in body
        ? String((body as { errorMessage: unknown }).errorMessage)
        : text;
    throw new CliError(`enforcer ${functionName} failed: ${message}`, ExitCode.Failure);
  }
  if (
    typeof body !== 'object' ||
    body === null ||
    !Array.isArray((body as EnforcementReport).nacls)
  ) {
    throw new CliError(`enforcer ${functionName} returned no report`, ExitCode.Failure);
  }
  const report = body as EnforcementReport;
  if (report.skipped === 'lease-held' && !options.dryRun) {
    throw new EnforcementPendingError(
      `another enforcer run holds the lease (${functionName}); it, or the next scheduled run, converges the NACLs`,
    );
  }
  return report;
}

async function openDeployed(options: ConnectionOptions): Promise<CliContext> {
  const stackName = options.stack ?? DEFAULT_STACK_NAME;
  const clientConfig = options.region ? { region: options.region } : {};
  const [{ CloudFormationClient }, { LambdaClient }, adapters] = await Promise.all([
    import('@aws-sdk/client-cloudformation'),
    import('@aws-sdk/client-lambda'),
    storeAdapters(),
  ]);
  const cfn = new CloudFormationClient(clientConfig);
  let resources: StackResources;
  try {
    resources = await resolveStack(cfn, stackName);
  } finally {
    cfn.destroy();
  }
  const dynamo = new adapters.DynamoDBClient(clientConfig);
  const lambda = new LambdaClient(clientConfig);
  const agents = resources.agentBucket
    ? await heartbeatReader(resources.agentBucket, undefined, options.region)
    : undefined;
  const banList = resources.banListBucket
    ? deployedBanList(resources.banListBucket, clientConfig)
    : undefined;
  return {
    where: `stack ${stackName}`,
    ...(agents ? { agentHeartbeats: agents.reader } : {}),
    config: resources.config,
    store: new adapters.DynamoDbBanStore(dynamo, resources.tableName),
    failures: new adapters.DynamoDbFailureWindows(dynamo, resources.tableName),
    ...(banList ? { banList: banList.reader } : {}),
    enforce: (reason, opts) => invokeEnforcer(lambda, resources.enforcerFunctionName, reason, opts),
    now: () => Date.now(),
    close() {
      dynamo.destroy();
      lambda.destroy();
      agents?.close();
      banList?.destroy();
    },
  };
}

/** The published ban list of a deployed stack (its ban-list bucket). */
function deployedBanList(bucket: string, clientConfig: { region?: string }) {
  return lazyBanList(
    async () => new (await import('@aws-sdk/client-s3')).S3Client(clientConfig),
    bucket,
  );
}

export async function openContext(options: ConnectionOptions): Promise<CliContext> {
  return options.local ? openLocal(options.state ?? defaultStatePath()) : openDeployed(options);
}

/** Opens a context, runs `fn`, always closes. */
export async function withContext<T>(
  options: ConnectionOptions,
  fn: (ctx: CliContext) => Promise<T>,
): Promise<T> {
  const ctx = await openContext(options);
  try {
    return await fn(ctx);
  } finally {
    ctx.close();
  }
}
