/**
 * How the CLI finds its resources: stack outputs (CloudFormation mocked with aws-sdk-client-mock,
 * no AWS), the enforcer invoke (Lambda mocked, then the real client against the local Lambda
 * endpoint that `cloudjail local` serves).
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { invokeEnforcer, resolveStack } from '../../cli/context.js';
import { CliError, ExitCode } from '../../cli/exit-codes.js';
import { STACK_OUTPUTS } from '../../lib/outputs.js';
import { startLocalLambda } from '../../local/lambda-endpoint.js';

const CONFIG = {
  jails: [{ name: 'freeswitch', logGroups: ['/sbc/freeswitch'] }],
  targets: [{ naclId: 'acl-0c10d0a1b2c3d4e5f' }],
};
const outputs = (over: Record<string, string | undefined> = {}) =>
  Object.entries({
    [STACK_OUTPUTS.tableName]: 'Cloudjail-Table-1',
    [STACK_OUTPUTS.enforcerFunctionName]: 'Cloudjail-Enforcer-1',
    [STACK_OUTPUTS.config]: JSON.stringify(CONFIG),
    ...over,
  })
    .filter(([, v]) => v !== undefined)
    .map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue }));

const cfnMock = mockClient(CloudFormationClient);
const lambdaMock = mockClient(LambdaClient);
afterEach(() => {
  cfnMock.reset();
  lambdaMock.reset();
});

async function cliError(p: Promise<unknown>): Promise<CliError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(CliError);
  return e as CliError;
}

const REPORT = { at: '2024-11-05T03:00:00.000Z', dryRun: false, notEnforced: 0, nacls: [] };

describe('resolveStack', () => {
  it('reads table, enforcer and the validated configuration from the outputs', async () => {
    cfnMock.on(DescribeStacksCommand, { StackName: 'Prod' }).resolves({
      Stacks: [
        {
          StackName: 'Prod',
          StackStatus: 'CREATE_COMPLETE',
          CreationTime: new Date(),
          Outputs: outputs(),
        },
      ],
    });
    const r = await resolveStack(new CloudFormationClient({ region: 'eu-west-1' }), 'Prod');
    expect(r.tableName).toBe('Cloudjail-Table-1');
    expect(r.enforcerFunctionName).toBe('Cloudjail-Enforcer-1');
    expect(r.config.jails.map((j) => j.name)).toEqual(['freeswitch']);
    expect(r.config.targets[0]?.ipv4Band).toEqual({ first: 1, last: 18 });
  });

  it('a missing stack is "not found" with what to do', async () => {
    const err = Object.assign(new Error('Stack with id Nope does not exist'), {
      name: 'ValidationError',
    });
    cfnMock.on(DescribeStacksCommand).rejects(err);
    const e = await cliError(
      resolveStack(new CloudFormationClient({ region: 'eu-west-1' }), 'Nope'),
    );
    expect(e.code).toBe(ExitCode.NotFound);
    expect(e.message).toMatch(/stack Nope not found .*--stack\/--region.*--local/);
  });

  it('a stack without the outputs is not a cloudjail stack', async () => {
    cfnMock.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'Other',
          StackStatus: 'CREATE_COMPLETE',
          CreationTime: new Date(),
          Outputs: outputs({ [STACK_OUTPUTS.enforcerFunctionName]: undefined }),
        },
      ],
    });
    const e = await cliError(
      resolveStack(new CloudFormationClient({ region: 'eu-west-1' }), 'Other'),
    );
    expect(e.code).toBe(ExitCode.NotFound);
    expect(e.message).toContain(`has no output ${STACK_OUTPUTS.enforcerFunctionName}`);
  });

  it('an invalid configuration output is bad input naming the problem', async () => {
    cfnMock.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'Prod',
          StackStatus: 'CREATE_COMPLETE',
          CreationTime: new Date(),
          Outputs: outputs({ [STACK_OUTPUTS.config]: '{"jails": 3}' }),
        },
      ],
    });
    const e = await cliError(
      resolveStack(new CloudFormationClient({ region: 'eu-west-1' }), 'Prod'),
    );
    expect(e.code).toBe(ExitCode.BadInput);
    expect(e.message).toContain('jails: must be a list of jails');
  });

  it('missing credentials fail with a hint, exit 1', async () => {
    cfnMock.on(DescribeStacksCommand).rejects(
      Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
      }),
    );
    const e = await cliError(
      resolveStack(new CloudFormationClient({ region: 'eu-west-1' }), 'Prod'),
    );
    expect(e.code).toBe(ExitCode.Failure);
    expect(e.message).toMatch(/no usable AWS credentials.*AWS_PROFILE or use --local/);
  });
});

describe('invokeEnforcer', () => {
  it('invokes synchronously with the reason (and dryRun) and returns the report', async () => {
    lambdaMock.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: new TextEncoder().encode(JSON.stringify(REPORT)) as never,
    });
    const report = await invokeEnforcer(
      new LambdaClient({ region: 'eu-west-1' }),
      'Enf',
      'status',
      { dryRun: true },
    );
    expect(report).toEqual(REPORT);
    const input = lambdaMock.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(input?.FunctionName).toBe('Enf');
    expect(input?.InvocationType).toBe('RequestResponse');
    expect(JSON.parse(new TextDecoder().decode(input?.Payload as Uint8Array))).toEqual({
      source: 'cloudjail.cli',
      reason: 'status',
      dryRun: true,
    });
  });

  it('a function error becomes a CliError with its message, exit 1', async () => {
    lambdaMock.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: new TextEncoder().encode(
        JSON.stringify({
          errorType: 'EnforcementFailedError',
          errorMessage: 'every network ACL failed',
        }),
      ) as never,
    });
    const e = await cliError(
      invokeEnforcer(new LambdaClient({ region: 'eu-west-1' }), 'Enf', 'ban'),
    );
    expect(e.code).toBe(ExitCode.Failure);
    expect(e.message).toBe('enforcer Enf failed: every network ACL failed');
  });
});

describe('local Lambda endpoint (what `cloudjail local` serves)', () => {
  it('the real Lambda client invokes an in-process function; runs are serialized', async () => {
    lambdaMock.restore();
    let running = 0;
    let maxRunning = 0;
    const seen: unknown[] = [];
    const lambda = await startLocalLambda({
      enforcer: async (event) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        seen.push(event);
        await new Promise((r) => setImmediate(r));
        running--;
        return { ...REPORT, dryRun: (event as { dryRun?: boolean }).dryRun === true };
      },
      broken: async () => {
        throw new Error('boom');
      },
    });
    const client = new LambdaClient({
      endpoint: lambda.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    try {
      const reports = await Promise.all([
        invokeEnforcer(client, 'enforcer', 'a', { dryRun: true }),
        invokeEnforcer(client, 'enforcer', 'b'),
        invokeEnforcer(client, 'enforcer', 'c'),
      ]);
      expect(reports.map((r) => r.dryRun)).toEqual([true, false, false]);
      expect(maxRunning).toBe(1);
      expect(seen).toHaveLength(3);
      const e = await cliError(invokeEnforcer(client, 'broken', 'x'));
      expect(e.message).toBe('enforcer broken failed: boom');
      const missing = await cliError(invokeEnforcer(client, 'nope', 'x'));
      expect(missing.message).toMatch(/invoke nope: ResourceNotFoundException/);
    } finally {
      client.destroy();
      await lambda.stop();
    }
  });
});
