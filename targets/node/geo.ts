/**
 * Node's geo: the MMDB database named by `geo.mmdb`, read once at start with `fs` and looked up
 * with `mmdb-lib` (pure JS, reads a Buffer; see core/upstream/mmdb-geo.ts for why that reader).
 * A relative path is taken from the process's working directory.
 */
import { readFileSync } from 'node:fs';
import { Reader } from 'mmdb-lib';
import type { CompiledConfig } from '../../core/config/index.ts';
import type { GeoLookup } from '../../core/capabilities.ts';
import { GeoDatabaseError, openMmdbGeo } from '../../core/upstream/mmdb-geo.ts';

/**
 * The lookup of the config's `geo.mmdb`, or undefined when it names none.
 * @throws GeoDatabaseError when the file is missing, unreadable or not an MMDB database.
 */
export function loadNodeGeo(config: CompiledConfig): GeoLookup | undefined {
  const file = config.geo?.mmdb;
  if (!file) return undefined;
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new GeoDatabaseError(file, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(err), err);
  }
  return openMmdbGeo(file, bytes, (b) => new Reader(b as Buffer));
}
