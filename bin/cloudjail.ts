/**
 * CDK app entry (`cdk.json` → `npx tsx bin/cloudjail.ts`): reads the cloudjail configuration from
 * context, builds the stack and runs the cdk-nag AwsSolutions checks (any unacknowledged finding
 * fails synth). Works offline: no lookups; the stack is environment-agnostic unless the CDK CLI
 * supplies an account/region.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError } from '../lambda/core/errors.js';
import { CloudjailStack } from '../lib/cloudjail-stack.js';
import { configFromContext } from '../lib/context-config.js';
import { CONFIG_CONTEXT_KEY, DEFAULT_STACK_NAME } from '../lib/outputs.js';

const app = new App();
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

const stackName = (app.node.tryGetContext('stackName') as string | undefined) ?? DEFAULT_STACK_NAME;
const account = process.env['CDK_DEFAULT_ACCOUNT'];
const region = process.env['CDK_DEFAULT_REGION'];

try {
  new CloudjailStack(app, stackName, {
    config: configFromContext(app.node.tryGetContext(CONFIG_CONTEXT_KEY)),
    description: 'cloudjail: fail2ban for SIP fleets (log subscriptions, ban table, NACL enforcer)',
    ...(account && region ? { env: { account, region } } : {}),
  });
} catch (error) {
  if (error instanceof ConfigError) {
    // One readable list of every problem instead of a stack trace.
    process.stderr.write(
      `cloudjail: ${error.message}\n(fix the "${CONFIG_CONTEXT_KEY}" context: cdk.json, or -c ${CONFIG_CONTEXT_KEY}='{...}')\n`,
    );
    process.exit(1);
  }
  throw error;
}
