/**
 * The fail2ban-regex view of a sample of live log events, for `cloudjail doctor`: how many lines,
 * how many failures, which date templates hit, examples of missed lines, and how many failures the
 * installed subscription filter pattern would drop (a pattern that drops real failures is a broken
 * link even when every other part works). Pure: the matcher and the pattern are given.
 */
import type { LogMatcher } from '../filters/index.js';
import type { FilterPattern } from '../logs/filter-pattern.js';

export interface SampleEvent {
  readonly timestamp: number;
  readonly message: string;
}

export interface SampleFindings {
  readonly events: number;
  readonly lines: number;
  /** Lines with at least one failure. */
  readonly failureLines: number;
  readonly failures: number;
  /** Failure events the subscription pattern does not pass (never reach the detector). */
  readonly droppedFailureEvents: number;
  readonly failureEvents: number;
  /** Lines with no date the filter's date templates recognise. */
  readonly undated: number;
  /** Date template → hits, most hits first. */
  readonly dateTemplates: readonly (readonly [string, number])[];
  /** A few missed lines (what a wrong filter or logger level looks like). */
  readonly missedExamples: readonly string[];
  /** A few failure lines the pattern drops. */
  readonly droppedExamples: readonly string[];
}

const EXAMPLES = 3;

export function sampleEvents(
  events: readonly SampleEvent[],
  matcher: LogMatcher,
  pattern: FilterPattern | undefined,
  now: number,
): SampleFindings {
  let lines = 0;
  let failureLines = 0;
  let failures = 0;
  let failureEvents = 0;
  let dropped = 0;
  let undated = 0;
  const templates = new Map<string, number>();
  const missed: string[] = [];
  const droppedExamples: string[] = [];
  for (const e of events) {
    const outcomes = matcher.matchEvent(e.message, { now, timestamp: e.timestamp });
    let eventFailures = 0;
    for (const o of outcomes) {
      lines++;
      if (o.dateTemplate) templates.set(o.dateTemplate, (templates.get(o.dateTemplate) ?? 0) + 1);
      else undated++;
      if (o.failures.length > 0) {
        failureLines++;
        failures += o.failures.length;
        eventFailures += o.failures.length;
      } else if (o.status === 'missed' && missed.length < EXAMPLES) missed.push(o.line);
    }
    if (eventFailures > 0) {
      failureEvents++;
      if (pattern && !pattern.matches(e.message)) {
        dropped++;
        if (droppedExamples.length < EXAMPLES) droppedExamples.push(e.message.split('\n')[0] ?? '');
      }
    }
  }
  return {
    events: events.length,
    lines,
    failureLines,
    failures,
    failureEvents,
    droppedFailureEvents: dropped,
    undated,
    dateTemplates: [...templates].sort((a, b) => b[1] - a[1]),
    missedExamples: missed,
    droppedExamples,
  };
}
