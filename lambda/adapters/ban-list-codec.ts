/**
 * The ban list's wire form: one JSON document, gzip-compressed (BAN_LIST_KEY ends in .json.gz).
 * Validation of what is read (schema, serial) is the agent's parser; this only encodes and decodes.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { BanList } from '../core/ban-list/schema.js';

/**
 * Stored as a gzip file, not as JSON with `Content-Encoding: gzip`: a client that decompresses
 * transparently (fetch, curl --compressed) would otherwise hand the agent JSON where it expects gzip.
 */
export const BAN_LIST_CONTENT_TYPE = 'application/gzip';

/** gzip level 6 (zlib's default): at 1M bans, level 9 costs ~2x the time for ~3% less. */
export function serializeBanList(list: BanList, json?: string): Buffer {
  return gzipSync(Buffer.from(json ?? JSON.stringify(list), 'utf8'), { level: 6 });
}

/** Decompresses and parses JSON (unvalidated). */
export function decodeBanListBody(body: Uint8Array): unknown {
  return JSON.parse(gunzipSync(body).toString('utf8'));
}
