/**
 * The CloudWatch agent's event splitting, reproduced for tests: a file is read line by line; with
 * `multi_line_start_pattern`, a line that does not match it joins the previous event (with `\n`),
 * without it every physical line is an event of its own.
 */
import type { AgentCollectEntry } from '../../cli/agent-config.js';

export function agentEvents(
  entry: AgentCollectEntry & { multi_line_start_pattern?: string },
  fileText: string,
): string[] {
  const lines = fileText.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const pattern = entry.multi_line_start_pattern;
  if (pattern === undefined) return lines;
  const start = new RegExp(pattern);
  const events: string[] = [];
  for (const line of lines) {
    if (events.length === 0 || start.test(line)) events.push(line);
    else events[events.length - 1] += `\n${line}`;
  }
  return events;
}
