/**
 * Client IP → place, from a MaxMind-format (MMDB) database, for runtimes with no geo of their own
 * (Node, Deno). Core holds the runtime-neutral part: what a database record says (country,
 * continent) and how a start failure reads. The reader itself (`mmdb-lib`, a pure-JS reader of
 * the format, chosen over a hand-written one: it is MaxMind's format as their own Node client
 * reads it) and the file live in the targets, because `mmdb-lib` needs Node's `Buffer` and the
 * file is read with the runtime's own API (targets/node/geo.ts, targets/deno/geo.ts).
 */
import { PorticoError } from '../errors.ts';
import type { GeoInfo, GeoLookup } from '../capabilities.ts';

/** The config path of the database file, named by every start failure. */
export const MMDB_CONFIG_PATH = 'geo.mmdb';

/** The MMDB file named by `geo.mmdb` cannot be read or is not an MMDB database. Raised at start. */
export class GeoDatabaseError extends PorticoError {
  readonly file: string;
  constructor(file: string, reason: string, cause?: unknown) {
    super('ERR_GEO_DATABASE', `${MMDB_CONFIG_PATH}: cannot use "${file}" as a MaxMind (MMDB) database: ${reason}`, {
      cause,
    });
    this.file = file;
  }
}

const CODE = /^[A-Za-z]{2}$/;

/** A two-letter code at `value[key]`, upper-case, or undefined. */
function codeAt(value: unknown, key: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const code = (value as Record<string, unknown>)[key];
  return typeof code === 'string' && CODE.test(code) ? code.toUpperCase() : undefined;
}

/**
 * The place a database record gives. Two record shapes are in use and both are read:
 * MaxMind's GeoIP2/GeoLite2 (`country.iso_code`, else `registered_country.iso_code`;
 * `continent.code`) and the flat one of the ip-location-db country databases (`country_code`,
 * `continent_code`). A record with neither gives undefined. Without a continent, the pool derives
 * it from the country (core/upstream/continents.ts).
 */
export function geoFromMmdbRecord(record: unknown): GeoInfo | undefined {
  if (typeof record !== 'object' || record === null) return undefined;
  const r = record as Record<string, unknown>;
  const country = codeAt(r['country'], 'iso_code') ?? codeAt(r, 'country_code') ?? codeAt(r['registered_country'], 'iso_code');
  const continent = codeAt(r['continent'], 'code') ?? codeAt(r, 'continent_code');
  if (!country && !continent) return undefined;
  return { ...(country ? { country } : {}), ...(continent ? { continent } : {}) };
}

/**
 * A GeoLookup over a reader's `get(ip)` (mmdb-lib's `Reader.get`). An address the reader cannot
 * parse, or one it throws on, is unknown rather than an error: the request goes to the pool's
 * default region.
 * @example
 * const geo = createMmdbGeo((ip) => reader.get(ip));
 * geo('203.0.113.7'); // { country: 'DE' }
 */
export function createMmdbGeo(get: (ip: string) => unknown): GeoLookup {
  return (ip) => {
    if (ip === '') return undefined;
    try {
      return geoFromMmdbRecord(get(ip));
    } catch {
      return undefined;
    }
  };
}

/** What a target's MMDB reader offers (mmdb-lib's `Reader` has this shape). */
export interface MmdbReader {
  get(ip: string): unknown;
}

/**
 * The GeoLookup of the database `file` whose bytes the target read, through the target's reader
 * (`open`). Everything that makes the file unusable is raised here, at start, as a
 * GeoDatabaseError naming `geo.mmdb` and the file: no bytes, not an MMDB file, or a reader that
 * fails on its first lookups (a truncated or corrupt search tree).
 * @example
 * // in targets/<runtime>/geo.ts, where the runtime's reader (mmdb-lib) is opened on the bytes
 * const geo = openMmdbGeo('country.mmdb', bytes, openReader);
 */
export function openMmdbGeo(file: string, bytes: Uint8Array, open: (bytes: Uint8Array) => MmdbReader): GeoLookup {
  if (bytes.byteLength === 0) throw new GeoDatabaseError(file, 'the file is empty');
  let reader: MmdbReader;
  try {
    reader = open(bytes);
    // One IPv4 and one IPv6 lookup walk the tree's both halves and decode what they reach.
    reader.get('0.0.0.0');
    reader.get('::');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new GeoDatabaseError(file, `not a readable MMDB file (${reason})`, err);
  }
  return createMmdbGeo((ip) => reader.get(ip));
}
