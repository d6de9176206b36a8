/**
 * Error types shared by every layer. Each error says what is wrong and where, so an operator can fix
 * the input without reading code.
 */

/** Base class of every error cloudjail raises on purpose. */
export class CloudjailError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Invalid configuration: carries every problem found, not just the first. */
export class ConfigError extends CloudjailError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[], context = 'configuration') {
    super(
      problems.length === 1
        ? `invalid ${context}: ${problems[0]}`
        : `invalid ${context} (${problems.length} problems):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.problems = problems;
  }
}

/** Where in a filter file something went wrong. All fields optional: give what is known. */
export interface FilterErrorLocation {
  readonly file?: string;
  readonly section?: string;
  readonly option?: string;
  /** 1-based line in the file, or 1-based line of a multi-line option value. */
  readonly line?: number;
}

/** A filter file or filter spec that cannot be loaded or compiled. */
export class FilterError extends CloudjailError {
  readonly location: FilterErrorLocation;

  constructor(message: string, location: FilterErrorLocation = {}, options?: ErrorOptions) {
    super(`${formatLocation(location)}${message}`, options);
    this.location = location;
  }
}

function formatLocation(loc: FilterErrorLocation): string {
  const parts: string[] = [];
  if (loc.file)
    parts.push(loc.line !== undefined && !loc.option ? `${loc.file}:${loc.line}` : loc.file);
  if (loc.section) parts.push(`[${loc.section}]`);
  if (loc.option)
    parts.push(loc.line !== undefined ? `${loc.option} line ${loc.line}` : loc.option);
  return parts.length ? `${parts.join(' ')}: ` : '';
}
