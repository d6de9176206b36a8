/**
 * Configuration is validated once, completely (architecture invariant 9): every section parser
 * takes the raw JSON value plus its path (for messages like `jails[2].findtime: ...`) and returns
 * the typed value together with EVERY problem found. Callers collect problems from all sections
 * and throw one ConfigError.
 */
export interface Parsed<T> {
  /** The typed value; undefined only when the input was too broken to build one. */
  readonly value: T | undefined;
  readonly problems: readonly string[];
}
