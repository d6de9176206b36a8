/**
 * RDAP (RFC 9083, RFC 9224), the HTTPS/JSON successor of whois: who an address belongs to, as
 * fail2ban's `mta-whois` actions put in their mails. Pure: picking the registry (RIR) that serves
 * an address from IANA's bootstrap file, and reading an IP network answer. The I/O is in
 * lambda/adapters/rdap-origin.ts.
 */
import { cidrContains, parseCidr } from './ip-address.js';

/** Who an address belongs to (every field optional: registries fill in what they have). */
export interface AddressOrigin {
  /** Registry network name (`EXAMPLE-NET`). */
  readonly network?: string;
  /** Registry handle of the network (`NET-203-0-113-0-1`). */
  readonly handle?: string;
  /** The registered range, `start - end`. */
  readonly range?: string;
  /** ISO 3166 country code. */
  readonly country?: string;
  /** Abuse contact e-mail. */
  readonly abuse?: string;
  /** The RDAP URL answered. */
  readonly source: string;
}

/** IANA's bootstrap file (`https://data.iana.org/rdap/ipv4.json` / `ipv6.json`): prefixes → base URLs. */
export interface RdapBootstrap {
  readonly services: readonly (readonly [readonly string[], readonly string[]])[];
}

/** The base URL serving `address` (longest matching prefix; https preferred), if any. */
export function rdapBaseFor(
  bootstraps: readonly RdapBootstrap[],
  address: string,
): string | undefined {
  let best: { prefix: number; url: string } | undefined;
  for (const b of bootstraps) {
    for (const service of b.services ?? []) {
      const [prefixes, urls] = service;
      const url = urls.find((u) => u.startsWith('https://')) ?? urls[0];
      if (url === undefined) continue;
      for (const text of prefixes) {
        const cidr = parseCidr(text);
        if (cidr && cidrContains(cidr, address) && (!best || cidr.prefix > best.prefix)) {
          best = { prefix: cidr.prefix, url };
        }
      }
    }
  }
  return best?.url;
}

/** `…/ip/<address>` under a base URL. */
export function rdapIpUrl(base: string, address: string): string {
  return `${base.replace(/\/+$/, '')}/ip/${encodeURIComponent(address)}`;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Control characters and overlong values never reach a mail from a registry's text. */
function clean(v: unknown, max = 200): string | undefined {
  if (typeof v !== 'string') return undefined;
  const s = v.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  return s === '' ? undefined : s.slice(0, max);
}

/** The e-mail of a jCard (`["vcard", [["email", {}, "text", "abuse@…"], …]]`). */
function vcardEmail(entity: Json): string | undefined {
  const card = entity.vcardArray;
  if (!Array.isArray(card) || !Array.isArray(card[1])) return undefined;
  for (const prop of card[1] as unknown[]) {
    if (Array.isArray(prop) && prop[0] === 'email') return clean(prop[3]);
  }
  return undefined;
}

/** The abuse contact: an entity with role "abuse", possibly nested under the registrant. */
function abuseEmail(entities: unknown, depth = 0): string | undefined {
  if (!Array.isArray(entities) || depth > 3) return undefined;
  for (const e of entities) {
    if (!isObject(e)) continue;
    const roles = Array.isArray(e.roles) ? e.roles : [];
    if (roles.includes('abuse')) {
      const email = vcardEmail(e);
      if (email) return email;
    }
  }
  for (const e of entities) {
    if (isObject(e)) {
      const nested = abuseEmail(e.entities, depth + 1);
      if (nested) return nested;
    }
  }
  return undefined;
}

/** Reads an RDAP IP network object; undefined when it is not one. */
export function parseRdapNetwork(body: unknown, source: string): AddressOrigin | undefined {
  if (!isObject(body) || body.objectClassName !== 'ip network') return undefined;
  const start = clean(body.startAddress, 64);
  const end = clean(body.endAddress, 64);
  const fields = {
    network: clean(body.name),
    handle: clean(body.handle),
    range: start && end ? `${start} - ${end}` : undefined,
    country: clean(body.country, 8),
    abuse: abuseEmail(body.entities),
  };
  const origin: Record<string, string> = { source };
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) origin[k] = v;
  return origin as unknown as AddressOrigin;
}

/** Lines for a notification: `network: …`, `country: …`, `abuse: …`. */
export function originLines(origin: AddressOrigin): string[] {
  const network = [origin.network, origin.handle && `(${origin.handle})`].filter(Boolean).join(' ');
  return [
    ...(network ? [`network:    ${network}${origin.range ? `, ${origin.range}` : ''}`] : []),
    ...(origin.country ? [`country:    ${origin.country}`] : []),
    ...(origin.abuse ? [`abuse:      ${origin.abuse}`] : []),
    `whois:      ${origin.source}`,
  ];
}
