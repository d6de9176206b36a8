/**
 * Address origin over RDAP (HTTPS JSON, plain `fetch`: works from Lambda, no whois port 43): the
 * registry is picked from IANA's bootstrap files (fetched once per container), the answer cached
 * per address. Every failure — no answer within the timeout, an HTTP error, a registry without the
 * address — is `undefined`: a notification never waits long for, nor fails on, who an address
 * belongs to.
 */
import {
  type AddressOrigin,
  parseRdapNetwork,
  type RdapBootstrap,
  rdapBaseFor,
  rdapIpUrl,
} from '../core/rdap.js';

export const IANA_BOOTSTRAP = [
  'https://data.iana.org/rdap/ipv4.json',
  'https://data.iana.org/rdap/ipv6.json',
] as const;

export interface RdapOriginOptions {
  /** Bootstrap file URLs (default: IANA's IPv4 and IPv6 files). */
  readonly bootstrapUrls?: readonly string[];
  /** Budget of one lookup, bootstrap included (ms, default 2500). */
  readonly timeoutMs?: number;
  /** How long an answer (or a failure) is kept (ms, default 6 h). */
  readonly cacheMs?: number;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

export class RdapOrigin {
  private bootstraps: Promise<RdapBootstrap[]> | undefined;
  private readonly cache = new Map<string, { at: number; origin: AddressOrigin | undefined }>();
  private readonly fetchFn: typeof fetch;

  constructor(private readonly options: RdapOriginOptions = {}) {
    this.fetchFn = options.fetch ?? fetch;
  }

  /** Who `address` belongs to, or undefined (unknown, slow, or failing registry). */
  async lookup(address: string): Promise<AddressOrigin | undefined> {
    const now = (this.options.now ?? Date.now)();
    const known = this.cache.get(address);
    if (known && now - known.at < (this.options.cacheMs ?? 6 * 3_600_000)) return known.origin;
    const signal = AbortSignal.timeout(this.options.timeoutMs ?? 2500);
    let origin: AddressOrigin | undefined;
    try {
      origin = await this.query(address, signal);
    } catch {
      origin = undefined;
    }
    if (this.cache.size >= 1000) this.cache.clear();
    this.cache.set(address, { at: now, origin });
    return origin;
  }

  private async query(address: string, signal: AbortSignal): Promise<AddressOrigin | undefined> {
    const base = rdapBaseFor(await this.bootstrap(signal), address);
    if (base === undefined) return undefined;
    const url = rdapIpUrl(base, address);
    const res = await this.fetchFn(url, {
      signal,
      redirect: 'follow',
      headers: { accept: 'application/rdap+json, application/json' },
    });
    if (!res.ok) return undefined;
    return parseRdapNetwork(await res.json(), res.url || url);
  }

  private bootstrap(signal: AbortSignal): Promise<RdapBootstrap[]> {
    this.bootstraps ??= Promise.all(
      (this.options.bootstrapUrls ?? IANA_BOOTSTRAP).map(async (u) => {
        const res = await this.fetchFn(u, { signal });
        if (!res.ok) throw new Error(`${u}: HTTP ${res.status}`);
        return (await res.json()) as RdapBootstrap;
      }),
    ).catch((e: unknown) => {
      // A failed bootstrap is tried again by the next lookup.
      this.bootstraps = undefined;
      throw e;
    });
    return this.bootstraps;
  }
}
