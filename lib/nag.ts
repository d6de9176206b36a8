/**
 * cdk-nag (AwsSolutions) acknowledgements for the Cloudjail construct. Every finding we accept is
 * acknowledged individually, on the construct that raises it, with the reason it is acceptable.
 * Anything not listed here fails `cdk synth`.
 */
import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { Cloudjail } from './cloudjail.js';

function ack(construct: IConstruct, id: string, reason: string): void {
  Validations.of(construct).acknowledge({ id, reason });
}

/** Acknowledges the findings the Cloudjail construct knowingly raises. */
export function acknowledgeNagFindings(jail: Cloudjail): void {
  const stack = Stack.of(jail);
  const basicExecution =
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]';
  for (const fn of [jail.detector, jail.enforcer, jail.notifier]) {
    ack(
      fn,
      basicExecution,
      'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch Logs; an inline copy would grant the same',
    );
    ack(
      fn,
      'AwsSolutions-L1',
      'The runtime is pinned on purpose (nodejs24.x, the newest in aws-cdk-lib at release) so bundling target and runtime match; upgrades are a reviewed change',
    );
  }
  for (const queue of [jail.detectorDlq, jail.enforcerDlq, jail.notifierDlq]) {
    ack(
      queue,
      'AwsSolutions-SQS3',
      'This queue IS a dead-letter queue (on-failure destination); a DLQ of a DLQ adds nothing',
    );
  }
  const enforcerLogicalId = stack.getLogicalId(jail.enforcer.node.defaultChild as CfnElement);
  ack(
    jail.schedulerRole,
    `AwsSolutions-IAM5[Resource::<${enforcerLogicalId}.Arn>:*]`,
    'LambdaInvoke grants invoke on the enforcer and its versions/aliases (`<arn>:*`); the role can invoke nothing else',
  );
  ack(
    jail,
    'AwsSolutions-IAM5[Resource::*]',
    'ec2:DescribeNetworkAcls supports no resource-level permissions (the API requires "*"); it is read-only. DynamoDB ListStreams for the notifier is likewise account-wide.',
  );
}
