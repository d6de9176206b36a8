/**
 * The host tier in CDK (opt-in: config `agents.enabled`): what an SBC fleet needs to run
 * `cloudjail agent` against the published ban list.
 *
 * - `policy`: an IAM managed policy to attach to the SBC instance roles, least privilege:
 *   `s3:GetObject` on the ban-list object only, and `s3:PutObject` on the caller's own heartbeat
 *   record only: `agents/${aws:userid}.json`. For EC2 instance-profile credentials `aws:userid` is
 *   `<role-id>:<instance-id>` (IAM policy variables reference), which an instance cannot change, so
 *   an agent can write its own record and no other. The agent learns its `aws:userid` from STS
 *   GetCallerIdentity (agent/adapters/instance-identity.ts) and uses it as its agent id.
 * - `bundle`: the agent bundle (agent/build-bundle.ts, built at synth) as an S3 asset.
 * - `association` (opt-in: `agents.tag`): an SSM State Manager association running a command
 *   document on every instance with the tag, every 30 minutes: checks Node.js >= 20 and nft,
 *   downloads the bundle, installs the systemd unit, (re)starts the service when the bundle
 *   changed, and starts it if it is not running. Never on the ban path: the agent polls S3 itself.
 * - `alarm`: agents behind or silent for longer than `staleAfter` (metrics AgentsBehind and
 *   AgentsSilent, emitted by the enforcer from the heartbeats, lambda/core/agent-health.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AssetHashType, BundlingOutput, DockerImage, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { buildAgentBundleSync, ROOT } from '../agent/build-bundle.js';
import type { AgentsSettings } from '../lambda/config/agents-config.js';
import { BAN_LIST_KEY, HEARTBEAT_PREFIX } from '../lambda/core/ban-list/heartbeat.js';
import { METRICS } from './runtime-contract.js';

export interface AgentFleetProps {
  /** The ban-list bucket (the enforcer publishes, the agents read and write heartbeats). */
  readonly bucket: s3.IBucket;
  readonly settings: AgentsSettings;
}

/** Where the association installs the agent on each host. */
export const AGENT_INSTALL_DIR = '/opt/cloudjail-agent';

function installCommands(bucket: string, region: string, unit: string): string[] {
  return [
    'set -eu',
    'CHANGED=0',
    'command -v nft >/dev/null || { echo "cloudjail-agent: nft (nftables) is not installed" >&2; exit 1; }',
    'command -v node >/dev/null || { echo "cloudjail-agent: Node.js >= 20 is not installed" >&2; exit 1; }',
    '[ "$(node -p \'process.versions.node.split(".")[0]\')" -ge 20 ] || { echo "cloudjail-agent: Node.js >= 20 required, found $(node --version)" >&2; exit 1; }',
    `install -d -m 0755 ${AGENT_INSTALL_DIR}`,
    `if ! cmp -s cloudjail-agent.mjs ${AGENT_INSTALL_DIR}/cloudjail-agent.mjs; then install -m 0755 cloudjail-agent.mjs ${AGENT_INSTALL_DIR}/cloudjail-agent.mjs; CHANGED=1; fi`,
    `cat > /etc/systemd/system/cloudjail-agent.service.new <<'UNIT'\n${unit}UNIT`,
    'if ! cmp -s /etc/systemd/system/cloudjail-agent.service.new /etc/systemd/system/cloudjail-agent.service; then mv /etc/systemd/system/cloudjail-agent.service.new /etc/systemd/system/cloudjail-agent.service; CHANGED=1; else rm -f /etc/systemd/system/cloudjail-agent.service.new; fi',
    `printf 'CLOUDJAIL_AGENT_BUCKET=%s\\nAWS_REGION=%s\\n' '${bucket}' '${region}' > /etc/cloudjail-agent.env.new`,
    'if ! cmp -s /etc/cloudjail-agent.env.new /etc/cloudjail-agent.env; then mv /etc/cloudjail-agent.env.new /etc/cloudjail-agent.env; CHANGED=1; else rm -f /etc/cloudjail-agent.env.new; fi',
    'systemctl daemon-reload',
    'systemctl enable cloudjail-agent.service',
    'if [ "$CHANGED" = 1 ]; then systemctl restart cloudjail-agent.service; else systemctl start cloudjail-agent.service; fi',
    'systemctl is-active cloudjail-agent.service',
  ];
}

export class AgentFleet extends Construct {
  readonly bucket: s3.IBucket;
  readonly policy: iam.ManagedPolicy;
  readonly bundle: s3assets.Asset;
  readonly association: ssm.CfnAssociation | undefined;
  readonly alarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: AgentFleetProps) {
    super(scope, id);
    const { bucket, settings } = props;
    this.bucket = bucket;

    this.bundle = new s3assets.Asset(this, 'Bundle', {
      path: join(ROOT, 'agent'),
      assetHashType: AssetHashType.OUTPUT,
      bundling: {
        // Built locally with esbuild; the image is never used (tryBundle always succeeds).
        image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:22-slim'),
        outputType: BundlingOutput.SINGLE_FILE,
        local: {
          tryBundle(outputDir: string) {
            buildAgentBundleSync(join(outputDir, 'cloudjail-agent.mjs'));
            return true;
          },
        },
      },
    });

    this.policy = new iam.ManagedPolicy(this, 'AgentPolicy', {
      description:
        'cloudjail host agent: read the published ban list, write this instance its own heartbeat',
      statements: [
        new iam.PolicyStatement({
          sid: 'ReadBanList',
          actions: ['s3:GetObject'],
          resources: [bucket.arnForObjects(BAN_LIST_KEY)],
        }),
        new iam.PolicyStatement({
          sid: 'WriteOwnHeartbeat',
          actions: ['s3:PutObject'],
          resources: [bucket.arnForObjects(`${HEARTBEAT_PREFIX}\${aws:userid}.json`)],
        }),
        new iam.PolicyStatement({
          sid: 'ReadAgentBundle',
          actions: ['s3:GetObject'],
          resources: [this.bundle.bucket.arnForObjects(this.bundle.s3ObjectKey)],
        }),
        ...(bucket.encryptionKey
          ? [
              new iam.PolicyStatement({
                sid: 'BanListKey',
                actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
                resources: [bucket.encryptionKey.keyArn],
              }),
            ]
          : []),
      ],
    });

    if (settings.association && settings.tag) {
      const unit = readFileSync(join(ROOT, 'agent', 'cloudjail-agent.service'), 'utf8');
      const document = new ssm.CfnDocument(this, 'InstallDocument', {
        documentType: 'Command',
        documentFormat: 'JSON',
        updateMethod: 'NewVersion',
        content: {
          schemaVersion: '2.2',
          description: 'Install or upgrade the cloudjail host agent and keep it running',
          mainSteps: [
            {
              action: 'aws:downloadContent',
              name: 'DownloadAgent',
              inputs: {
                sourceType: 'S3',
                sourceInfo: JSON.stringify({ path: this.bundle.httpUrl }),
                destinationPath: 'cloudjail-agent.mjs',
              },
            },
            {
              action: 'aws:runShellScript',
              name: 'InstallAgent',
              inputs: {
                runCommand: installCommands(bucket.bucketName, Stack.of(this).region, unit),
              },
            },
          ],
        },
      });
      this.association = new ssm.CfnAssociation(this, 'InstallAssociation', {
        name: document.ref,
        associationName: `${Stack.of(this).stackName}-cloudjail-agent`,
        targets: [{ key: `tag:${settings.tag.key}`, values: [settings.tag.value] }],
        scheduleExpression: 'rate(30 minutes)',
        maxConcurrency: '10%',
        maxErrors: '25%',
      });
    }

    const metric = (name: string) =>
      new cloudwatch.Metric({
        namespace: METRICS.namespace,
        metricName: name,
        dimensionsMap: { service: METRICS.enforcerService },
        period: Duration.minutes(1),
        statistic: 'Maximum',
      });
    this.alarm = new cloudwatch.Alarm(this, 'AgentsUnhealthyAlarm', {
      alarmDescription: `cloudjail: a host agent is behind or silent for longer than ${Math.round(settings.staleAfterMs / 60_000)} min (bans not enforced on that host: see \`cloudjail status\`)`,
      metric: new cloudwatch.MathExpression({
        expression: 'behind + silent',
        usingMetrics: {
          behind: metric(METRICS.agentsBehind),
          silent: metric(METRICS.agentsSilent),
        },
        label: 'Agents behind or silent',
        period: Duration.minutes(1),
      }),
      threshold: 1,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}

/** What the enforcer needs to read the agents' health: list + read heartbeats, read the list. */
export function agentHealthStatements(bucket: s3.IBucket): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${HEARTBEAT_PREFIX}*`] } },
    }),
    new iam.PolicyStatement({
      actions: ['s3:GetObject'],
      resources: [bucket.arnForObjects(`${HEARTBEAT_PREFIX}*`), bucket.arnForObjects(BAN_LIST_KEY)],
    }),
  ];
}
