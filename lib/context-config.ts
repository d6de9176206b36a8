/**
 * The cloudjail configuration as the CDK app receives it from context: an object from cdk.json, or
 * JSON text from the command line (`-c cloudjail='{"jails": [...]}'`: the CDK CLI passes -c values
 * as strings). No aws-cdk-lib import: cheap to test.
 */
import { ConfigError } from '../lambda/core/errors.js';
import { CONFIG_CONTEXT_KEY } from './outputs.js';

/** The context value as configuration; JSON text is parsed, anything else is returned as is. */
export function configFromContext(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch (error) {
    throw new ConfigError(
      [`context "${CONFIG_CONTEXT_KEY}": not JSON (${(error as Error).message})`],
      'cloudjail configuration',
    );
  }
}
