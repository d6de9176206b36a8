/**
 * Triggers the enforcer with an asynchronous Lambda invoke (InvocationType Event): the detector
 * does not wait, and a lost trigger is harmless because the scheduled run converges anyway
 * (architecture invariant 2).
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { EnforcementTrigger } from '../ports/enforcement-trigger.js';

export class LambdaEnforcementTrigger implements EnforcementTrigger {
  constructor(
    private readonly client: LambdaClient,
    private readonly functionName: string,
  ) {}

  async trigger(reason: string): Promise<void> {
    await this.client.send(
      new InvokeCommand({
        FunctionName: this.functionName,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify({ source: 'cloudjail.detector', reason })),
      }),
    );
  }
}
