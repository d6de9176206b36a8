/**
 * The `Cloudjail` construct: everything cloudjail needs, in one construct a user can drop into
 * their own CDK app. The stack in cloudjail-stack.ts is a thin wrapper that adds outputs.
 *
 * Configuration (`config`) is the same JSON users write under the `cloudjail` key of cdk.json
 * context; it is validated with the code the Lambdas use (lambda/config/cloudjail-config.ts), and
 * together with the construct's own props, every problem is reported at once as a ConfigError, at
 * synth time.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as eventSources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as logsDestinations from 'aws-cdk-lib/aws-logs-destinations';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  type CloudjailConfig,
  LOG_RETENTION_DAYS,
  parseCloudjailConfig,
} from '../lambda/config/cloudjail-config.js';
import { ENV } from '../lambda/config/env-names.js';
import { parseJails } from '../lambda/config/jail-config.js';
import { ConfigError } from '../lambda/core/errors.js';
import { planFilterBundle } from './filter-bundle.js';
import { subscriptionFilterName, subscriptionFilterPattern } from './filter-patterns.js';
import { acknowledgeNagFindings } from './nag.js';
import {
  DETECTOR_READ_ACTIONS,
  DETECTOR_WRITE_ACTIONS,
  detectorLeadingKeys,
  enforcementSchedule,
  jailFilterSpec,
  jailName,
  METRICS,
  naclIds,
  TABLE_DATA_ACTIONS,
  TABLE_SCHEMA,
} from './runtime-contract.js';

/** Repository root (lib/..): handler entries, filter.d and the lock file live there. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Handler entry files, relative to the project root. */
export const HANDLER_ENTRIES = {
  detector: 'lambda/handlers/detector.ts',
  enforcer: 'lambda/handlers/enforcer.ts',
  notifier: 'lambda/handlers/notifier.ts',
} as const;

/** Where the detector finds filter files inside its deployment package. */
export const LAMBDA_FILTER_DIR = '/var/task/filter.d';

/** Lambda's limit on the total size of a function's environment variables (keys + values). */
const LAMBDA_ENV_LIMIT_BYTES = 4096;

/** Properties of the Cloudjail construct. Every one but `config` has a documented default. */
export interface CloudjailProps {
  /**
   * The cloudjail configuration, exactly as written under the `cloudjail` key of cdk.json context
   * (jails, ignoreip, targets, enforcement, notifications, logGroups). See docs/deploy.md.
   */
  readonly config: unknown;
  /**
   * Directory that relative filter `.conf` paths in jail filter specs are resolved against.
   * @default process.cwd() (the directory holding cdk.json when run by the CDK CLI)
   */
  readonly configDir?: string;
  /**
   * DynamoDB deletion protection: `cdk destroy` cannot delete the ban table while it is on.
   * @default true
   */
  readonly deletionProtection?: boolean;
  /**
   * What happens to the table when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly tableRemovalPolicy?: RemovalPolicy;
  /**
   * Retention of the functions' own log groups, in days (a CloudWatch Logs retention value).
   * @default 30
   */
  readonly functionLogRetentionDays?: number;
  /**
   * Detector memory in MB (128-10240). More memory also means more CPU for regex matching.
   * @default 512
   */
  readonly detectorMemoryMb?: number;
  /**
   * Enforcer timeout in seconds (10-900). Keep it below the schedule interval so scheduled runs
   * do not pile up behind the reserved concurrency of 1.
   * @default 50
   */
  readonly enforcerTimeoutSeconds?: number;
}

/** Defaults of the optional props, exported for the docs and the tests. */
export const CLOUDJAIL_DEFAULTS = {
  deletionProtection: true,
  tableRemovalPolicy: RemovalPolicy.RETAIN,
  functionLogRetentionDays: 30,
  detectorMemoryMb: 512,
  enforcerTimeoutSeconds: 50,
} as const;

interface ResolvedProps {
  readonly config: CloudjailConfig;
  /** The validated configuration JSON the Lambdas read (user filter paths rewritten). */
  readonly configJson: string;
  /** User filter files to ship: path relative to LAMBDA_FILTER_DIR → local file. */
  readonly userFilterFiles: ReadonlyMap<string, string>;
  readonly deletionProtection: boolean;
  readonly tableRemovalPolicy: RemovalPolicy;
  readonly functionLogRetentionDays: number;
  readonly detectorMemoryMb: number;
  readonly enforcerTimeoutSeconds: number;
}

function integerIn(
  problems: string[],
  name: string,
  value: number | undefined,
  min: number,
  max: number,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    problems.push(`${name}: ${value} is not an integer from ${min} to ${max}`);
    return fallback;
  }
  return value;
}

/** Seconds between runs of a `rate(N unit)` expression; undefined for `cron(...)`. */
function rateSeconds(expression: string): number | undefined {
  const match = /^rate\(\s*(\d+)\s+(minute|hour|day)s?\s*\)$/.exec(expression);
  if (!match) return undefined;
  const unit = { minute: 60, hour: 3600, day: 86_400 }[match[2] as 'minute' | 'hour' | 'day'];
  return Number(match[1]) * unit;
}

/** The configuration without its comment keys (`"//..."`), at any depth. */
function withoutComments(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutComments);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !key.startsWith('//'))
      .map(([key, v]) => [key, withoutComments(v)]),
  );
}

/**
 * Validates the props and the configuration together; throws one ConfigError with every problem.
 * Exported so tools (and tests) can validate without building a stack.
 */
export function resolveCloudjailProps(props: CloudjailProps): ResolvedProps {
  const problems: string[] = [];
  const parsed = parseCloudjailConfig(props.config);
  problems.push(...parsed.problems);

  const deletionProtection = props.deletionProtection ?? CLOUDJAIL_DEFAULTS.deletionProtection;
  const functionLogRetentionDays =
    props.functionLogRetentionDays ?? CLOUDJAIL_DEFAULTS.functionLogRetentionDays;
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(functionLogRetentionDays)) {
    problems.push(
      `functionLogRetentionDays: ${functionLogRetentionDays} is not a CloudWatch Logs retention (one of ${LOG_RETENTION_DAYS.join(', ')})`,
    );
  }
  const detectorMemoryMb = integerIn(
    problems,
    'detectorMemoryMb',
    props.detectorMemoryMb,
    128,
    10240,
    CLOUDJAIL_DEFAULTS.detectorMemoryMb,
  );
  const enforcerTimeoutSeconds = integerIn(
    problems,
    'enforcerTimeoutSeconds',
    props.enforcerTimeoutSeconds,
    10,
    900,
    CLOUDJAIL_DEFAULTS.enforcerTimeoutSeconds,
  );

  // Scheduled runs must not overlap: with reserved concurrency 1 an overlapping run is throttled.
  const interval = parsed.value ? rateSeconds(enforcementSchedule(parsed.value)) : undefined;
  if (interval !== undefined && enforcerTimeoutSeconds >= interval) {
    problems.push(
      `enforcerTimeoutSeconds: ${enforcerTimeoutSeconds} must be below the enforcement.schedule interval (${interval} s)`,
    );
  }

  // Filters: each jail's filter is compiled now, as the detector will load it from its package;
  // user files it reads are shipped beside the built-ins (see filter-bundle.ts).
  const configDir = props.configDir ?? process.cwd();
  const rawJails =
    typeof props.config === 'object' && props.config !== null
      ? (props.config as Record<string, unknown>)['jails']
      : undefined;
  const rewrittenJails: unknown[] = Array.isArray(rawJails) ? [...rawJails] : [];
  // Checked even when other sections are broken, so every problem shows at once.
  const jails = parsed.value?.jails ?? parseJails(rawJails, 'jails').value ?? [];
  const { bundle, plans } = planFilterBundle(
    jails.map(jailFilterSpec),
    LAMBDA_FILTER_DIR,
    join(PROJECT_ROOT, 'filter.d'),
    configDir,
  );
  problems.push(...bundle.problems);
  for (const [index, plan] of plans.entries()) {
    const rawJail = rewrittenJails[index];
    if (plan && typeof rawJail === 'object' && rawJail !== null) {
      rewrittenJails[index] = { ...rawJail, filter: plan.lambdaSpec };
    }
  }

  let configJson = '';
  if (parsed.value) {
    // Comment keys (`//...`) are dropped: the environment has little room.
    configJson = JSON.stringify(
      withoutComments({ ...(props.config as Record<string, unknown>), jails: rewrittenJails }),
    );
    // Leave headroom for the other variables (table name, ARNs, Powertools settings).
    const budget = LAMBDA_ENV_LIMIT_BYTES - 1024;
    if (Buffer.byteLength(configJson) > budget) {
      problems.push(
        `configuration: ${Buffer.byteLength(configJson)} bytes of JSON exceed the ${budget} bytes left in Lambda's 4 KB environment; shorten ignore lists or split jails across stacks`,
      );
    }
  }

  if (problems.length > 0 || !parsed.value) {
    throw new ConfigError(
      problems.length > 0 ? problems : ['configuration could not be read'],
      'cloudjail configuration',
    );
  }
  return {
    config: parsed.value,
    configJson,
    userFilterFiles: bundle.userFiles,
    deletionProtection,
    tableRemovalPolicy: props.tableRemovalPolicy ?? CLOUDJAIL_DEFAULTS.tableRemovalPolicy,
    functionLogRetentionDays,
    detectorMemoryMb,
    enforcerTimeoutSeconds,
  };
}

/** The built-in filter files shipped in filter.d/ (bundled with the detector). */
export function listBuiltinFilterFiles(): string[] {
  const dir = join(PROJECT_ROOT, 'filter.d');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.conf') || name.endsWith('.local'))
    .sort();
}

/** The `source` of the scheduled enforcer event (`{ "source": "cloudjail.schedule" }`). */
export const SCHEDULE_EVENT_SOURCE = 'cloudjail.schedule';

/** Scheduler retries of a failed enforcer invocation (within Scheduler's 60 s minimum age). */
const SCHEDULE_RETRY_ATTEMPTS = 2;

/**
 * LambdaInvoke, but the scheduler role may invoke only the function's unqualified ARN (the one it
 * targets); LambdaInvoke's grantInvoke would also allow `<arn>:*`, every version and alias.
 */
class InvokeUnqualifiedFunction extends schedulerTargets.LambdaInvoke {
  private readonly target: lambda.IFunction;

  constructor(target: lambda.IFunction, props: schedulerTargets.ScheduleTargetBaseProps) {
    super(target, props);
    this.target = target;
  }

  protected override addTargetActionToRole(role: iam.IRole): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'InvokeEnforcerOnly',
        actions: ['lambda:InvokeFunction'],
        resources: [this.target.functionArn],
      }),
    );
  }
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** cloudjail: detector, enforcer, ban table, notifications, alarms and dashboard. */
export class Cloudjail extends Construct {
  readonly config: CloudjailConfig;
  /** The validated configuration JSON given to the Lambdas (ENV.config). */
  readonly configJson: string;
  readonly table: dynamodb.TableV2;
  readonly detector: nodejs.NodejsFunction;
  readonly enforcer: nodejs.NodejsFunction;
  readonly notifier: nodejs.NodejsFunction;
  /** One message per ban and per unban. */
  readonly topic: sns.Topic;
  /** CloudWatch alarm notifications. */
  readonly alarmTopic: sns.Topic;
  readonly detectorDlq: sqs.Queue;
  readonly enforcerDlq: sqs.Queue;
  readonly notifierDlq: sqs.Queue;
  readonly schedule: scheduler.Schedule;
  readonly schedulerRole: iam.Role;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;
  /** The log groups the detector is subscribed to, by name. */
  readonly logGroups = new Map<string, logs.ILogGroup>();

  constructor(scope: Construct, id: string, props: CloudjailProps) {
    super(scope, id);
    const resolved = resolveCloudjailProps(props);
    this.config = resolved.config;
    this.configJson = resolved.configJson;
    const stack = Stack.of(this);

    // --- Desired state -------------------------------------------------------------------------
    this.table = new dynamodb.TableV2(this, 'Table', {
      partitionKey: { name: TABLE_SCHEMA.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_SCHEMA.sortKey, type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      timeToLiveAttribute: TABLE_SCHEMA.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: resolved.deletionProtection,
      removalPolicy: resolved.tableRemovalPolicy,
      // The notifier turns ban records into ban/unban messages.
      dynamoStream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      globalSecondaryIndexes: TABLE_SCHEMA.globalSecondaryIndexes.map((index) => ({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        ...(index.sortKey
          ? {
              sortKey: {
                name: index.sortKey,
                type:
                  index.sortKeyType === 'N'
                    ? dynamodb.AttributeType.NUMBER
                    : dynamodb.AttributeType.STRING,
              },
            }
          : {}),
      })),
    });

    // --- Notifications -------------------------------------------------------------------------
    this.topic = new sns.Topic(this, 'BanTopic', {
      displayName: 'cloudjail bans',
      enforceSSL: true,
    });
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'cloudjail alarms',
      enforceSSL: true,
    });
    const email = this.config.notifications.email;
    if (email) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(email));
    }

    // --- Dead-letter queues --------------------------------------------------------------------
    const dlq = (name: string) =>
      new sqs.Queue(this, name, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
    this.detectorDlq = dlq('DetectorDlq');
    this.enforcerDlq = dlq('EnforcerDlq');
    this.notifierDlq = dlq('NotifierDlq');

    // --- Functions -----------------------------------------------------------------------------
    const commonEnv = {
      [ENV.config]: resolved.configJson,
      [ENV.tableName]: this.table.tableName,
      [ENV.topicArn]: this.topic.topicArn,
      POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
    };
    const makeFunction = (
      name: 'Detector' | 'Enforcer' | 'Notifier',
      entry: string,
      options: {
        memorySize: number;
        timeout: Duration;
        service: string;
        environment?: Record<string, string>;
        commandHooks?: nodejs.ICommandHooks;
        asyncOptions?: Partial<lambda.FunctionProps>;
      },
    ) => {
      const logGroup = new logs.LogGroup(this, `${name}Logs`, {
        retention: resolved.functionLogRetentionDays as logs.RetentionDays,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      // Our own role instead of AWSLambdaBasicExecutionRole (logs:* on every group): the function
      // may write to its own log group and nothing else; the grants below add the rest.
      const role = new iam.Role(this, `${name}Role`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `cloudjail ${options.service} function`,
      });
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'WriteOwnLogGroupOnly',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [logGroup.logGroupArn],
        }),
      );
      return new nodejs.NodejsFunction(this, name, {
        role,
        entry: join(PROJECT_ROOT, entry),
        handler: 'handler',
        // In this repository: its own lock file. Installed as a dependency (npm does not publish
        // lock files), CDK finds the app's lock file above the entry instead.
        ...(existsSync(join(PROJECT_ROOT, 'package-lock.json'))
          ? { projectRoot: PROJECT_ROOT, depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json') }
          : {}),
        runtime: lambda.Runtime.NODEJS_24_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize: options.memorySize,
        timeout: options.timeout,
        logGroup,
        environment: {
          ...commonEnv,
          POWERTOOLS_SERVICE_NAME: options.service,
          ...options.environment,
        },
        bundling: {
          minify: true,
          sourceMap: false,
          target: 'node24',
          format: nodejs.OutputFormat.ESM,
          mainFields: ['module', 'main'],
          // ESM output: give bundled CommonJS dependencies a `require`.
          banner:
            "import { createRequire as __cjRequire } from 'node:module'; const require = __cjRequire(import.meta.url);",
          // Bundle the SDK: a pinned client version, and a smaller cold start than the runtime's.
          bundleAwsSDK: true,
          externalModules: [],
          ...(options.commandHooks ? { commandHooks: options.commandHooks } : {}),
        },
        ...options.asyncOptions,
      });
    };

    this.enforcer = makeFunction('Enforcer', HANDLER_ENTRIES.enforcer, {
      memorySize: 256,
      timeout: Duration.seconds(resolved.enforcerTimeoutSeconds),
      service: METRICS.enforcerService,
      asyncOptions: {
        // The single NACL writer (architecture invariant 1).
        reservedConcurrentExecutions: 1,
        onFailure: new destinations.SqsDestination(this.enforcerDlq),
        // A failed run is repaired by the next scheduled one; do not queue stale retries.
        retryAttempts: 0,
        maxEventAge: Duration.minutes(5),
      },
    });

    const filterFiles = listBuiltinFilterFiles();
    this.detector = makeFunction('Detector', HANDLER_ENTRIES.detector, {
      memorySize: resolved.detectorMemoryMb,
      timeout: Duration.seconds(60),
      service: METRICS.detectorService,
      environment: {
        [ENV.enforcerFunction]: this.enforcer.functionName,
        [ENV.filterDir]: LAMBDA_FILTER_DIR,
      },
      commandHooks: {
        beforeBundling: () => [],
        beforeInstall: () => [],
        // Filter files are read at cold start from ENV.filterDir: ship them in the package.
        // (From PROJECT_ROOT, not the bundling input dir: as a dependency, that is the app's root.)
        afterBundling: (_inputDir: string, outputDir: string) => [
          `mkdir -p ${shellQuote(join(outputDir, 'filter.d'))}`,
          ...filterFiles.map(
            (name) =>
              `cp ${shellQuote(join(PROJECT_ROOT, 'filter.d', name))} ${shellQuote(join(outputDir, 'filter.d', name))}`,
          ),
          ...[...resolved.userFilterFiles].flatMap(([relative, file]) => [
            `mkdir -p ${shellQuote(dirname(join(outputDir, 'filter.d', relative)))}`,
            `cp ${shellQuote(file)} ${shellQuote(join(outputDir, 'filter.d', relative))}`,
          ]),
        ],
      },
      asyncOptions: {
        onFailure: new destinations.SqsDestination(this.detectorDlq),
        retryAttempts: 2,
        maxEventAge: Duration.hours(6),
      },
    });

    this.notifier = makeFunction('Notifier', HANDLER_ENTRIES.notifier, {
      memorySize: 256,
      timeout: Duration.seconds(30),
      service: METRICS.notifierService,
    });

    // --- Permissions (least privilege) -------------------------------------------------------
    // The item operations the store adapters use, on the table (and its indexes, if any); not
    // grantReadWriteData, which adds Scan, batch writes, DescribeTable and stream reads.
    for (const fn of [this.enforcer]) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'TableItemsOnly',
          actions: [...TABLE_DATA_ACTIONS],
          resources: [
            this.table.tableArn,
            ...TABLE_SCHEMA.globalSecondaryIndexes.map(
              (index) => `${this.table.tableArn}/index/${index.indexName}`,
            ),
          ],
        }),
      );
    }
    // The detector: only the partition keys it uses (dynamodb:LeadingKeys), no DeleteItem.
    const leadingKeys = detectorLeadingKeys(this.config);
    for (const [sid, actions, keys] of [
      ['DetectorReadsItsKeysOnly', DETECTOR_READ_ACTIONS, leadingKeys.read],
      ['DetectorWritesItsKeysOnly', DETECTOR_WRITE_ACTIONS, leadingKeys.write],
    ] as const) {
      this.detector.addToRolePolicy(
        new iam.PolicyStatement({
          sid,
          actions: [...actions],
          resources: [this.table.tableArn],
          conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': keys } },
        }),
      );
    }
    // Unqualified ARN only (grantInvoke would add `<arn>:*`, every version and alias).
    this.detector.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'InvokeEnforcerOnly',
        actions: ['lambda:InvokeFunction'],
        resources: [this.enforcer.functionArn],
      }),
    );
    this.topic.grantPublish(this.notifier);
    const naclArns = naclIds(this.config).map((naclId) =>
      stack.formatArn({ service: 'ec2', resource: 'network-acl', resourceName: naclId }),
    );
    this.enforcer.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'MutateConfiguredNetworkAclsOnly',
        actions: [
          'ec2:CreateNetworkAclEntry',
          'ec2:ReplaceNetworkAclEntry',
          'ec2:DeleteNetworkAclEntry',
        ],
        resources: naclArns,
      }),
    );
    this.enforcer.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'DescribeNetworkAclsNeedsStar',
        actions: ['ec2:DescribeNetworkAcls'],
        // DescribeNetworkAcls supports no resource-level permissions.
        resources: ['*'],
      }),
    );

    // Ban records on the stream → notifier. Filtered at the event source to pk = BAN exactly
    // (failure windows, allowlist and stats items never invoke it; TTL deletes carry Keys too).
    this.notifier.addEventSource(
      new eventSources.DynamoEventSource(this.table, {
        startingPosition: lambda.StartingPosition.LATEST,
        batchSize: 25,
        retryAttempts: 3,
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        onFailure: new eventSources.SqsDlq(this.notifierDlq),
        filters: [
          lambda.FilterCriteria.filter({
            dynamodb: {
              Keys: {
                [TABLE_SCHEMA.partitionKey]: {
                  S: lambda.FilterRule.isEqual(TABLE_SCHEMA.banPartitionKey),
                },
              },
            },
          }),
        ],
      }),
    );

    // --- Schedule: the sweeper / drift repairer ----------------------------------------------
    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'EventBridge Scheduler: invoke the cloudjail enforcer',
    });
    this.schedule = new scheduler.Schedule(this, 'EnforcerSchedule', {
      description: 'cloudjail: converge NACLs to the ban table, expire bans, repair drift',
      schedule: scheduler.ScheduleExpression.expression(enforcementSchedule(this.config)),
      target: new InvokeUnqualifiedFunction(this.enforcer, {
        role: this.schedulerRole,
        input: scheduler.ScheduleTargetInput.fromObject({ source: SCHEDULE_EVENT_SOURCE }),
        deadLetterQueue: this.enforcerDlq,
        // A failed delivery is retried within the minute (60 s is Scheduler's minimum event age);
        // after that the next scheduled run supersedes it.
        retryAttempts: SCHEDULE_RETRY_ATTEMPTS,
        maxEventAge: Duration.seconds(60),
      }),
    });

    // --- Log subscriptions -------------------------------------------------------------------
    for (const [index, group] of this.config.logGroups.entries()) {
      const logGroup = group.create
        ? new logs.LogGroup(this, `SourceLogGroup${index}`, {
            logGroupName: group.name,
            retention: group.retentionDays as logs.RetentionDays,
            removalPolicy: RemovalPolicy.RETAIN,
          })
        : logs.LogGroup.fromLogGroupName(this, `SourceLogGroup${index}`, group.name);
      this.logGroups.set(group.name, logGroup);
      const specs = this.config.jails
        .filter((jail) => group.jails.includes(jailName(jail)))
        .map(jailFilterSpec);
      // One subscription filter per log group whatever the number of jails reading it:
      // CloudWatch Logs allows only two per group, and the other may be the user's.
      new logs.SubscriptionFilter(this, `Subscription${index}`, {
        logGroup,
        destination: new logsDestinations.LambdaDestination(this.detector),
        filterPattern: logs.FilterPattern.literal(subscriptionFilterPattern(specs)),
        filterName: subscriptionFilterName(group.jails),
      });
    }

    // --- Alarms and dashboard ----------------------------------------------------------------
    const alarmAction = new cloudwatchActions.SnsAction(this.alarmTopic);
    const addAlarm = (id: string, props: cloudwatch.AlarmProps) => {
      const alarm = new cloudwatch.Alarm(this, id, props);
      alarm.addAlarmAction(alarmAction);
      this.alarms.push(alarm);
      return alarm;
    };
    const detectorErrors = this.detector.metricErrors({
      period: Duration.minutes(5),
      statistic: 'Sum',
    });
    addAlarm('DetectorErrorsAlarm', {
      alarmDescription: 'cloudjail detector invocations failed (log events may be lost: see DLQ)',
      metric: detectorErrors,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const [name, queue] of [
      ['Detector', this.detectorDlq],
      ['Enforcer', this.enforcerDlq],
      ['Notifier', this.notifierDlq],
    ] as const) {
      addAlarm(`${name}DlqDepthAlarm`, {
        alarmDescription: `cloudjail ${name.toLowerCase()} dead-letter queue holds failed events`,
        metric: queue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: 'Maximum',
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    const notEnforced = new cloudwatch.Metric({
      namespace: METRICS.namespace,
      metricName: METRICS.bansNotEnforced,
      dimensionsMap: { service: METRICS.enforcerService },
      period: Duration.minutes(1),
      statistic: 'Maximum',
    });
    addAlarm('BansNotEnforcedAlarm', {
      alarmDescription:
        'cloudjail: active bans do not fit in the NACL rule band (capacity): raise the band, the NACL quota, or enable aggregation',
      metric: notEnforced,
      threshold: 1,
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const enforcerThrottles = this.enforcer.metricThrottles({
      period: Duration.minutes(5),
      statistic: 'Sum',
    });
    // A trigger arriving during a run is throttled and waits in Lambda's async queue: expected in
    // bursts under attack. Sustained throttling means runs are too slow or too frequent.
    addAlarm('EnforcerThrottlesAlarm', {
      alarmDescription:
        'cloudjail enforcer throttled for 15 minutes (runs keep overlapping its reserved concurrency of 1: slow EC2 calls, or too many triggers)',
      metric: enforcerThrottles,
      threshold: 5,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const ec2Throttles = new cloudwatch.Metric({
      namespace: METRICS.namespace,
      metricName: METRICS.ec2Throttles,
      dimensionsMap: { service: METRICS.enforcerService },
      period: Duration.minutes(5),
      statistic: 'Sum',
    });
    addAlarm('EnforcerEc2ThrottlingAlarm', {
      alarmDescription:
        'cloudjail enforcer hit EC2 API throttling (RequestLimitExceeded): the account-wide mutation budget is exhausted',
      metric: ec2Throttles,
      threshold: 5,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const activeBans = new cloudwatch.Metric({
      namespace: METRICS.namespace,
      metricName: METRICS.activeBans,
      dimensionsMap: { service: METRICS.enforcerService },
      period: Duration.minutes(1),
      statistic: 'Maximum',
    });
    // The detector publishes BansCreated per log group (dimensions service + logGroup): sum them.
    const bansCreated = new cloudwatch.MathExpression({
      expression: `SUM(SEARCH('{${METRICS.namespace},logGroup,service} MetricName="${METRICS.bansCreated}" service="${METRICS.detectorService}"', 'Sum', 300))`,
      label: 'Bans created (all log groups)',
      period: Duration.minutes(5),
    });
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(6),
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Bans',
            left: [activeBans, notEnforced],
            right: [bansCreated],
            width: 12,
          }),
          new cloudwatch.AlarmStatusWidget({
            title: 'Alarms',
            alarms: this.alarms,
            width: 12,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Detector',
            left: [
              this.detector.metricInvocations({ period: Duration.minutes(5) }),
              detectorErrors,
            ],
            right: [this.detector.metricDuration({ period: Duration.minutes(5) })],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Enforcer',
            left: [
              this.enforcer.metricInvocations({ period: Duration.minutes(5) }),
              this.enforcer.metricErrors({ period: Duration.minutes(5) }),
              enforcerThrottles,
              ec2Throttles,
            ],
            right: [this.enforcer.metricDuration({ period: Duration.minutes(5) })],
            width: 12,
          }),
        ],
      ],
    });

    acknowledgeNagFindings(this);
  }
}
