/**
 * Names of the environment variables the CDK stack (writer) sets and the Lambda handlers (readers)
 * read. One place, so the two sides cannot drift.
 */
export const ENV = {
  /** JSON of the whole validated cloudjail configuration (jails, targets, enforcement). */
  config: 'CLOUDJAIL_CONFIG',
  /** DynamoDB table holding failures, bans and the runtime allowlist. */
  tableName: 'CLOUDJAIL_TABLE_NAME',
  /** Name or ARN of the enforcer function the detector invokes asynchronously after a new ban. */
  enforcerFunction: 'CLOUDJAIL_ENFORCER_FUNCTION',
  /** SNS topic for ban/unban notifications (optional). */
  topicArn: 'CLOUDJAIL_TOPIC_ARN',
  /** S3 bucket of the published ban list (the host tier; the enforcer writes BAN_LIST_KEY only). */
  banListBucket: 'CLOUDJAIL_BAN_LIST_BUCKET',
  /** Directory holding filter files (built-in filter.d plus bundled user .conf files). */
  filterDir: 'CLOUDJAIL_FILTER_DIR',
  /** Bucket holding the agents' heartbeats and the published ban list (agents enabled only). */
  agentHealthBucket: 'CLOUDJAIL_AGENT_HEALTH_BUCKET',
} as const;
