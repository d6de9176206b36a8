/**
 * Turns on V8's linear-time fallback for regexes that backtrack too much
 * (`--enable-experimental-regexp-engine-on-excessive-backtracks`): after 50,000 backtracks V8
 * re-runs the match with its linear-time engine, so a user failregex such as
 * `^(?:\w+\s?)+ from <HOST>$` costs milliseconds on a 64 KB hostile line instead of hanging the
 * detector. Regexes that engine cannot run are refused at load (see core/filters/backtracking.ts).
 *
 * The flag cannot go in NODE_OPTIONS (Node exits with "is not allowed in NODE_OPTIONS"), so it is
 * set from code, process-wide, before any filter regex is created: V8 decides per regex, when it is
 * created, whether it may fall back. Checked on Node 20 and 22.
 */
import { setFlagsFromString } from 'node:v8';

let enabled = false;

/** Enables the fallback once per process; call before compiling filters. */
export function enableRegexpFallback(): void {
  if (enabled) return;
  setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
  enabled = true;
}
