/**
 * cdk-nag (AwsSolutions) acknowledgements for the Cloudjail construct. Every finding we accept is
 * acknowledged individually, on the narrowest construct that raises it, with the reason it is
 * acceptable. Anything not listed here fails `cdk synth`. The infra tests check that each one is
 * still needed (synth without it fails on exactly that finding) and that nothing else is raised.
 *
 * Findings fixed rather than acknowledged: IAM4 (the functions use their own roles, no
 * AWSLambdaBasicExecutionRole), IAM5 on `<enforcer-arn>:*` (the scheduler and the detector may
 * invoke the unqualified enforcer ARN only), L1 (the runtime is the newest Node.js in aws-cdk-lib),
 * SQS4/SNS3 (TLS-only queue and topic policies).
 */
import { type CfnResource, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { Cloudjail } from './cloudjail.js';

/** One acknowledged finding: rule id (as cdk-nag prints it), where, and why. */
export interface NagAcknowledgement {
  readonly scope: IConstruct;
  readonly id: string;
  readonly reason: string;
}

/** The findings the Cloudjail construct knowingly raises, each with its reason. */
export function nagAcknowledgements(jail: Cloudjail): NagAcknowledgement[] {
  const acks: NagAcknowledgement[] = [];
  for (const queue of [jail.detectorDlq, jail.enforcerDlq, jail.notifierDlq]) {
    acks.push({
      scope: queue,
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue IS a dead-letter queue (Lambda on-failure destination / Scheduler DLQ); a DLQ of a DLQ adds nothing, and its depth is alarmed',
    });
  }
  const enforcerRole = jail.enforcer.role;
  if (enforcerRole) {
    acks.push({
      scope: enforcerRole,
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ec2:DescribeNetworkAcls supports no resource-level permissions, so the API requires "*"; it is read-only. The NACL mutations are scoped to the configured NACL ARNs.',
    });
  }
  acks.push(...agentFleetAcknowledgements(jail));
  return acks;
}

/** The host tier's findings (config `agents.enabled` only). */
function agentFleetAcknowledgements(jail: Cloudjail): NagAcknowledgement[] {
  const fleet = jail.agentFleet;
  const enforcerRole = jail.enforcer.role;
  if (!fleet || !enforcerRole) return [];
  const bucket = fleet.bucket.node.defaultChild as CfnResource | undefined;
  const acks: NagAcknowledgement[] = [];
  if (bucket) {
    const logicalId = Stack.of(bucket).getLogicalId(bucket);
    acks.push({
      scope: enforcerRole,
      id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/agents/*]`,
      reason:
        'The enforcer reads every agent heartbeat (agents/<agent id>.json) to classify the fleet as current/behind/silent: the agent ids are not known at deploy time. Read-only, that prefix only.',
    });
    acks.push({
      scope: fleet.bucket,
      id: 'AwsSolutions-S1',
      reason:
        'The bucket holds only the published ban list and small agent heartbeats (no customer data); it is private, TLS-only, versioned; access logs would need a second bucket for objects polled every few seconds by every host (use CloudTrail data events if auditing is needed).',
    });
  }
  return acks;
}

/** Acknowledges the findings of nagAcknowledgements on their constructs. */
export function acknowledgeNagFindings(jail: Cloudjail): void {
  for (const { scope, id, reason } of nagAcknowledgements(jail)) {
    Validations.of(scope).acknowledge({ id, reason });
  }
}
