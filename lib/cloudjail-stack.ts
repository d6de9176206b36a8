/**
 * The stack `cdk deploy` deploys: one Cloudjail construct plus the CloudFormation outputs the CLI
 * reads (see outputs.ts).
 */
import { Annotations, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Cloudjail, type CloudjailProps } from './cloudjail.js';
import { placeholderTargets } from './context-config.js';
import { STACK_OUTPUTS } from './outputs.js';

export interface CloudjailStackProps extends StackProps, CloudjailProps {}

export class CloudjailStack extends Stack {
  readonly cloudjail: Cloudjail;

  constructor(scope: Construct, id: string, props: CloudjailStackProps) {
    super(scope, id, props);
    this.cloudjail = new Cloudjail(this, 'Cloudjail', props);
    const jail = this.cloudjail;
    const output = (key: string, value: string, description: string) =>
      new CfnOutput(this, key, { key, value, description });
    output(STACK_OUTPUTS.tableName, jail.table.tableName, 'DynamoDB table of failures and bans');
    output(
      STACK_OUTPUTS.enforcerFunctionName,
      jail.enforcer.functionName,
      'Enforcer function (the single NACL writer)',
    );
    output(
      STACK_OUTPUTS.detectorFunctionName,
      jail.detector.functionName,
      'Detector function (log subscription target)',
    );
    output(STACK_OUTPUTS.topicArn, jail.topic.topicArn, 'SNS topic: one message per ban/unban');
    output(STACK_OUTPUTS.alarmTopicArn, jail.alarmTopic.topicArn, 'SNS topic of the alarms');
    output(
      STACK_OUTPUTS.banListBucket,
      jail.banListBucket.banList.bucketName,
      'S3 bucket of the published ban list (host tier)',
    );
    output(STACK_OUTPUTS.config, jail.configJson, 'Validated cloudjail configuration (JSON)');
    if (jail.agentFleet) {
      output(
        STACK_OUTPUTS.agentBucket,
        jail.agentFleet.bucket.bucketName,
        'Host tier bucket: ban list, agent heartbeats',
      );
    }
    // cdk.json ships a placeholder NACL id: synth works offline with it, a deploy would fail late.
    for (const naclId of placeholderTargets(jail.config)) {
      Annotations.of(this).addWarningV2(
        'cloudjail:placeholder-nacl',
        `targets: ${naclId} is the placeholder id of the shipped cdk.json; replace it with your network ACL's id (acl-...) before \`cdk deploy\``,
      );
    }
  }
}
