/**
 * Read-only view of the detector's failure windows, for `cloudjail status` ("currently failed").
 * Implemented on the cloudjail table by lambda/adapters/dynamodb-failure-windows.ts.
 */

/** An address with failures recorded in a jail's window. */
export interface FailingAddress {
  readonly address: string;
  /** Failures with event time >= `since`. */
  readonly failures: number;
  /** Event time (epoch ms) of the latest failure. */
  readonly lastFailureAt: number;
}

export interface FailureWindowReader {
  /** Addresses with at least one failure at or after `since` (epoch ms) in `jail`. */
  failingAddresses(jail: string, since: number): Promise<readonly FailingAddress[]>;
}
