/**
 * CloudWatch Logs subscription filter patterns that pre-select candidate lines before the detector
 * runs, cutting Lambda invocations on chatty SBC logs. A pattern is used only where it provably
 * cannot drop a real failure: for each built-in filter, every failregex (in every mode) contains at
 * least one of the listed words, literally and case-sensitively, so a line without any of them
 * cannot match. For anything else (user `.conf` files, unknown filters) there is no pattern: every
 * line goes to the detector.
 *
 * Patterns use the `%regex%` form rather than quoted terms: a regex matches a substring anywhere in
 * the event (terms are word-based) and needs no quotes or apostrophes, which JSON-encoding log
 * shippers may escape. Only letters and `|` are used (the regex dialect allows no groups). Each
 * pattern counts as ONE of the 5 regex patterns CloudWatch Logs allows per log group.
 */

/**
 * Words per built-in filter. Why each list is complete:
 * - freeswitch: every failregex starts with a Sofia location (`sofia_reg.c:N` / `sofia.c:N`, any
 *   mode, with or without the idle-CPU prefix) or is the `A registration failed user[…]` line.
 * - asterisk: chan_sip "Registration from … failed for", "Call from … rejected", "… failed to
 *   authenticate / failed MD5 authentication / tried to authenticate", "No registration for peer",
 *   "hacking attempt", `SecurityEvent="…"` (security log), "Rejecting unknown SIP connection",
 *   PJSIP "Request … failed for".
 */
const BUILTIN_WORDS: Readonly<Record<string, readonly string[]>> = {
  freeswitch: ['sofia', 'registration'],
  asterisk: [
    'failed',
    'rejected',
    'authenticat',
    'registration',
    'hacking',
    'SecurityEvent',
    'Rejecting',
  ],
};

/** The filter name of a jail's filter spec: `freeswitch[mode=extra]` → `freeswitch`. */
export function filterBaseName(spec: string): string {
  const bracket = spec.indexOf('[');
  return (bracket >= 0 ? spec.slice(0, bracket) : spec).trim();
}

/** Pre-selection words for one filter spec, or undefined when no safe pre-selection exists. */
export function candidateWords(filterSpec: string): readonly string[] | undefined {
  const name = filterBaseName(filterSpec);
  if (name.endsWith('.conf') || name.includes('/')) return undefined;
  return BUILTIN_WORDS[name];
}

/**
 * The subscription filter pattern for a log group read by jails with these filter specs: the union
 * of their words, or `''` (every event) as soon as one of them has no safe pre-selection.
 */
export function subscriptionFilterPattern(filterSpecs: readonly string[]): string {
  const words = new Set<string>();
  for (const spec of filterSpecs) {
    const list = candidateWords(spec);
    if (!list) return '';
    for (const word of list) words.add(word);
  }
  return words.size === 0 ? '' : `%${[...words].join('|')}%`;
}

/**
 * Evaluates a pattern produced by subscriptionFilterPattern against one log line, the way
 * CloudWatch Logs does (unanchored, case-sensitive). For tests and the docs' claims.
 */
export function patternMatches(pattern: string, line: string): boolean {
  if (pattern === '') return true;
  const body = pattern.slice(1, -1);
  return new RegExp(body).test(line);
}

/** Name of the one subscription filter the stack installs on a log group read by these jails. */
export function subscriptionFilterName(jailNames: readonly string[]): string {
  return `cloudjail-${jailNames.join('-')}`.slice(0, 512);
}

/** One subscription filter the stack installs. */
export interface SubscriptionSpec {
  readonly logGroup: string;
  readonly filterName: string;
  readonly filterPattern: string;
  /** Jails reading the log group, in configuration order. */
  readonly jails: readonly string[];
}

/**
 * The subscription filters the stack installs for these jails: one per log group (first-use
 * order), whatever the number of jails reading it (CloudWatch Logs allows two per group; the other
 * may be the user's), with the union pattern of their filters.
 */
export function subscriptionPlan(
  jails: readonly {
    readonly name: string;
    readonly filter: string;
    readonly logGroups: readonly string[];
  }[],
): SubscriptionSpec[] {
  const groups = new Map<string, { name: string; filter: string }[]>();
  for (const jail of jails) {
    for (const group of jail.logGroups) {
      const list = groups.get(group) ?? [];
      if (!list.some((j) => j.name === jail.name)) list.push(jail);
      groups.set(group, list);
    }
  }
  return [...groups].map(([logGroup, list]) => ({
    logGroup,
    filterName: subscriptionFilterName(list.map((j) => j.name)),
    filterPattern: subscriptionFilterPattern(list.map((j) => j.filter)),
    jails: list.map((j) => j.name),
  }));
}
