import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { LambdaEnforcementTrigger } from '../../../lambda/adapters/lambda-enforcement-trigger.js';
import { RecordingEnforcementTrigger } from '../../../lambda/ports/enforcement-trigger.js';

const lambda = mockClient(LambdaClient);
afterEach(() => lambda.reset());

describe('LambdaEnforcementTrigger', () => {
  it('invokes the enforcer asynchronously (InvocationType Event) with a small JSON payload', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    await new LambdaEnforcementTrigger(
      new LambdaClient({ region: 'us-east-1' }),
      'cloudjail-enforcer',
    ).trigger('2 new ban(s) from /sbc/freeswitch');
    const calls = lambda.commandCalls(InvokeCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    expect(input).toMatchObject({ FunctionName: 'cloudjail-enforcer', InvocationType: 'Event' });
    expect(JSON.parse(new TextDecoder().decode(input?.Payload as Uint8Array))).toEqual({
      source: 'cloudjail.detector',
      reason: '2 new ban(s) from /sbc/freeswitch',
    });
  });

  it('passes invoke errors to the caller (the detector logs them and carries on)', async () => {
    lambda.on(InvokeCommand).rejects(new Error('TooManyRequestsException'));
    const trigger = new LambdaEnforcementTrigger(new LambdaClient({ region: 'us-east-1' }), 'f');
    await expect(trigger.trigger('x')).rejects.toThrow('TooManyRequestsException');
  });
});

describe('RecordingEnforcementTrigger', () => {
  it('records every reason', async () => {
    const t = new RecordingEnforcementTrigger();
    await t.trigger('a');
    await t.trigger('b');
    expect(t.reasons).toEqual(['a', 'b']);
  });
});
