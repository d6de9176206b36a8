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

/** A network ACL id EC2 does not know (InvalidNetworkAclID.NotFound). */
export class NaclNotFoundError extends CloudjailError {
  constructor(readonly naclId: string) {
    super(`network ACL ${naclId} does not exist (InvalidNetworkAclID.NotFound)`);
  }
}

/** The rule number is already used in that direction (NetworkAclEntryAlreadyExists). */
export class NaclEntryExistsError extends CloudjailError {
  constructor(
    readonly naclId: string,
    readonly ruleNumber: number,
  ) {
    super(
      `network ACL ${naclId} already has an entry ${ruleNumber} (NetworkAclEntryAlreadyExists)`,
    );
  }
}

/** No entry with that rule number in that direction (InvalidNetworkAclEntry.NotFound). */
export class NaclEntryNotFoundError extends CloudjailError {
  constructor(
    readonly naclId: string,
    readonly ruleNumber: number,
  ) {
    super(`network ACL ${naclId} has no entry ${ruleNumber} (InvalidNetworkAclEntry.NotFound)`);
  }
}

/** The ACL holds as many rules as its quota allows (NetworkAclEntryLimitExceeded). */
export class NaclEntryLimitError extends CloudjailError {
  constructor(readonly naclId: string) {
    super(`network ACL ${naclId} is at its rule quota (NetworkAclEntryLimitExceeded)`);
  }
}

/** EC2 throttled the call after the SDK's own retries (RequestLimitExceeded). */
export class Ec2ThrottledError extends CloudjailError {
  constructor(action: string, options?: ErrorOptions) {
    super(`EC2 throttled ${action} (RequestLimitExceeded)`, options);
  }
}

/** EC2 rejected an entry's parameters (InvalidParameterValue, MissingParameter, ...): a bug in the caller. */
export class NaclEntryInvalidError extends CloudjailError {
  constructor(
    readonly naclId: string,
    readonly ruleNumber: number,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`network ACL ${naclId} rejected entry ${ruleNumber}: ${detail}`, options);
  }
}
