/**
 * The CLI's synchronous enforcer invoke (issue 12.12): the real `@aws-sdk/client-lambda` against
 * the local Lambda endpoint in its AWS-like mode, where a synchronous invoke arriving while a run
 * holds the only concurrency slot is refused with 429 TooManyRequestsException. The CLI retries
 * with backoff; when the slot stays busy it reports "enforcement pending" (exit 8), never a bare
 * invoke error.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { EnforcementPendingError, invokeEnforcer } from '../../cli/context.js';
import { ExitCode } from '../../cli/exit-codes.js';
import { type LocalLambda, startLocalLambda } from '../../local/lambda-endpoint.js';

const NAME = 'cloudjail-enforcer';
const REPORT = { at: '2026-01-01T00:00:00.000Z', dryRun: false, nacls: [], refusedBans: [] };
let lambda: LocalLambda | undefined;
let release: () => void = () => {};

afterEach(async () => {
  release();
  await lambda?.stop();
});

async function busyEnforcer(): Promise<{ client: LambdaClient; calls: () => number }> {
  let calls = 0;
  let gate = Promise.resolve();
  lambda = await startLocalLambda(
    {
      [NAME]: async () => {
        calls++;
        await gate;
        return REPORT;
      },
    },
    { throttleWhenBusy: true },
  );
  // A scheduled run holds the slot until released.
  gate = new Promise<void>((r) => {
    release = r;
  });
  void lambda.invoke(NAME, { source: 'cloudjail.schedule' });
  const client = new LambdaClient({
    endpoint: lambda.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  return { client, calls: () => calls };
}

describe('invokeEnforcer while a run holds the reserved concurrency of 1', () => {
  it('retries with backoff and gets the report once the slot is free', async () => {
    const { client, calls } = await busyEnforcer();
    setTimeout(() => release(), 400);
    const report = await invokeEnforcer(
      client,
      NAME,
      'cloudjail ban 203.0.113.7',
      {},
      {
        throttledDelaysMs: [100, 200, 400, 800, 1600],
        unreachableDelaysMs: [],
      },
    );
    expect(report).toMatchObject({ nacls: [] });
    // The scheduled run and ours: the throttled attempts never reached the function.
    expect(calls()).toBe(2);
    client.destroy();
  });

  it('still busy after every retry: EnforcementPendingError, exit 8, naming the throttle', async () => {
    const { client } = await busyEnforcer();
    const error = await invokeEnforcer(
      client,
      NAME,
      'cloudjail ban 203.0.113.7',
      {},
      {
        throttledDelaysMs: [50, 50],
        unreachableDelaysMs: [],
      },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EnforcementPendingError);
    expect((error as EnforcementPendingError).code).toBe(ExitCode.Pending);
    expect((error as Error).message).toMatch(
      /enforcement pending: the enforcer cloudjail-enforcer stayed busy \(TooManyRequestsException: Rate Exceeded\., 3 attempts\)/,
    );
    client.destroy();
  });

  it('a run whose lease is held elsewhere (report skipped) is pending too', async () => {
    lambda = await startLocalLambda({ [NAME]: async () => ({ ...REPORT, skipped: 'lease-held' }) });
    const client = new LambdaClient({
      endpoint: lambda.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    await expect(invokeEnforcer(client, NAME, 'cloudjail ban 203.0.113.7')).rejects.toThrow(
      /enforcement pending: another enforcer run holds the lease/,
    );
    client.destroy();
  });
});
