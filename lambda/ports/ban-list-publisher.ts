/**
 * The ban-list publisher port: where the enforcer (the only writer) puts the complete ban list for
 * the host agents, and where `cloudjail status` reads what is published. Implemented by the S3
 * adapter (production, and the embedded mode on a local S3 API) and an in-memory one for tests.
 *
 * The published object carries its serial, content hash, ban count and time as metadata, so
 * "what is published now" is one small request (S3 HeadObject), whatever the list's size.
 */
import type { BanList } from '../core/ban-list/schema.js';

/** What is published now, read from the object's metadata. */
export interface PublishedBanList {
  readonly serial: number;
  /** SHA-256 of the list's content (serial and time excluded): see core/ban-list. */
  readonly contentHash: string;
  /** Ban records the list covers. */
  readonly bans: number;
  /** Epoch ms the enforcer made it. */
  readonly generatedAt: number;
  /** Size of the stored (compressed) object. */
  readonly bytes: number;
}

export interface PublishRequest {
  readonly list: BanList;
  readonly contentHash: string;
  /** Ban records the list covers (metadata for status). */
  readonly bans: number;
  /** `JSON.stringify(list)`, when the caller already has it (saves a stringify at 1M bans). */
  readonly json?: string;
}

/** Read side: `cloudjail status`, and the publisher's own "unchanged?" check. */
export interface BanListReader {
  /** The published list's metadata; undefined when none is published (new bucket, lost object). */
  current(): Promise<PublishedBanList | undefined>;
}

export interface BanListPublisher extends BanListReader {
  /** Replaces the published list; returns the stored (compressed) size. */
  publish(request: PublishRequest): Promise<{ readonly bytes: number }>;
}
