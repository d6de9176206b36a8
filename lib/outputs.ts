/**
 * CloudFormation output keys of the cloudjail stack. The CLI resolves the deployed resources by
 * reading these from DescribeStacks, so they are part of the public contract: never rename one.
 * (Plain constants, no aws-cdk-lib import, so the CLI can import this file cheaply.)
 */
export const STACK_OUTPUTS = {
  /** DynamoDB table holding failures, bans and the runtime allowlist. */
  tableName: 'TableName',
  /** Enforcer function name (invoke it synchronously to converge the NACLs now). */
  enforcerFunctionName: 'EnforcerFunctionName',
  /** Detector function name. */
  detectorFunctionName: 'DetectorFunctionName',
  /** SNS topic with one message per ban and per unban. */
  topicArn: 'TopicArn',
  /** SNS topic the CloudWatch alarms notify. */
  alarmTopicArn: 'AlarmTopicArn',
  /** S3 bucket of the published ban list (host tier; agents poll it, `status` reads it). */
  banListBucket: 'BanListBucketName',
  /** The validated cloudjail configuration, as JSON (the same text the Lambdas read). */
  config: 'Config',
  /** Bucket of the host tier (published ban list, agent heartbeats); only with agents enabled. */
  agentBucket: 'AgentBucketName',
} as const;

/** Default stack name of `bin/cloudjail.ts` (override with `-c stackName=...`). */
export const DEFAULT_STACK_NAME = 'Cloudjail';

/** Context key under which cdk.json holds the cloudjail configuration. */
export const CONFIG_CONTEXT_KEY = 'cloudjail';
