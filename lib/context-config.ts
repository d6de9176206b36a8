/**
 * The cloudjail configuration as the CDK app receives it from context: an object from cdk.json,
 * JSON text from the command line (`-c cloudjail='{"jails": [...]}'`: the CDK CLI passes -c values
 * as strings), or a file named on the command line (`-c cloudjail=@cloudjail.json`).
 *
 * The CDK CLI keeps only the first line of a -c value (it splits `key=value` with `/=(.*)/`), so
 * `-c cloudjail="$(cat file.json)"` with multi-line JSON reaches the app as `{`: that is said
 * plainly, with the two ways that work (`@file`, or the JSON on one line). No aws-cdk-lib import:
 * cheap to test.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../lambda/core/errors.js';
import { CONFIG_CONTEXT_KEY } from './outputs.js';

const WHAT = 'cloudjail configuration';

/** The NACL id the shipped cdk.json holds until the operator puts theirs in. */
export const PLACEHOLDER_NACL_ID = 'acl-0123456789abcdef0';

/** Target NACL ids still at the placeholder. */
export function placeholderTargets(config: {
  readonly targets: readonly { readonly naclId: string }[];
}): string[] {
  return config.targets.map((t) => t.naclId).filter((id) => id === PLACEHOLDER_NACL_ID);
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ConfigError([`${source}: not JSON (${(error as Error).message})`], WHAT);
  }
}

/** The context value as configuration; JSON text (or `@file`) is parsed, anything else is returned as is. */
export function configFromContext(
  value: unknown,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trim();
  if (text.startsWith('@')) {
    const path = text.slice(1);
    let content: string;
    try {
      content = readFile(path);
    } catch (error) {
      throw new ConfigError(
        [`context "${CONFIG_CONTEXT_KEY}": cannot read ${path} (${(error as Error).message})`],
        WHAT,
      );
    }
    return parseJson(content, `context "${CONFIG_CONTEXT_KEY}" file ${path}`);
  }
  if (text === '{' || text === '[') {
    throw new ConfigError(
      [
        `context "${CONFIG_CONTEXT_KEY}": only "${text}" arrived: the CDK CLI keeps the first line of a -c value. Pass the file (-c ${CONFIG_CONTEXT_KEY}=@cloudjail.json) or the JSON on one line (-c ${CONFIG_CONTEXT_KEY}="$(jq -c . cloudjail.json)")`,
      ],
      WHAT,
    );
  }
  return parseJson(text, `context "${CONFIG_CONTEXT_KEY}"`);
}
