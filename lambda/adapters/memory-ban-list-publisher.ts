/** In-memory ban-list publisher for unit tests: keeps every published list, can be made to fail. */
import type { BanList } from '../core/ban-list/schema.js';
import type {
  BanListPublisher,
  PublishedBanList,
  PublishRequest,
} from '../ports/ban-list-publisher.js';
import { serializeBanList } from './ban-list-codec.js';

export class MemoryBanListPublisher implements BanListPublisher {
  /** Every publication, oldest first (only the latest with `history: false`). */
  readonly published: PublishRequest[] = [];

  constructor(private readonly options: { readonly history?: boolean } = {}) {}
  private head: PublishedBanList | undefined;
  /** When set, publish() throws it (current() still answers). */
  failWith: Error | undefined;

  async current(): Promise<PublishedBanList | undefined> {
    return this.head;
  }

  async publish(request: PublishRequest): Promise<{ bytes: number }> {
    if (this.failWith) throw this.failWith;
    const bytes = serializeBanList(request.list, request.json).length;
    if (this.options.history === false) this.published.length = 0;
    this.published.push(request);
    this.head = {
      serial: request.list.serial,
      contentHash: request.contentHash,
      bans: request.bans,
      generatedAt: request.list.generatedAt,
      bytes,
    };
    return { bytes };
  }

  /** Simulates a lost object (deleted behind the enforcer's back). */
  lose(): void {
    this.head = undefined;
  }

  /** The list an agent would read now (as S3BanListPublisher.read()). */
  async read(): Promise<BanList | undefined> {
    return this.head ? this.latest()?.list : undefined;
  }

  /** The latest list published. */
  latest(): PublishRequest | undefined {
    return this.published.at(-1);
  }
}
