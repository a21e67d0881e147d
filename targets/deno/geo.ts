/**
 * Deno's geo: the MMDB database named by `geo.mmdb`, read once at start with `Deno.readFile`
 * (`--allow-read` must cover it; on Deno Deploy the file ships with the deployment) and looked up
 * with `mmdb-lib` (see core/upstream/mmdb-geo.ts). mmdb-lib takes a Node `Buffer`, which Deno
 * provides as a global. A relative path is taken from the working directory.
 */
import { Reader } from 'mmdb-lib';
import type { CompiledConfig } from '../../core/config/index.ts';
import type { GeoLookup } from '../../core/capabilities.ts';
import { GeoDatabaseError, openMmdbGeo } from '../../core/upstream/mmdb-geo.ts';

/** The slice of Deno (and its Node-compatible Buffer) this file uses; no Deno types in this repo. */
interface DenoGlobals {
  Deno?: { readFile(path: string): Promise<Uint8Array> };
  Buffer?: { from(buffer: ArrayBufferLike, offset: number, length: number): Uint8Array };
}

/**
 * The lookup of the config's `geo.mmdb`, or undefined when it names none.
 * @throws GeoDatabaseError when the file is missing, not readable under the process's
 * permissions, or not an MMDB database.
 */
export async function loadDenoGeo(config: CompiledConfig): Promise<GeoLookup | undefined> {
  const file = config.geo?.mmdb;
  if (!file) return undefined;
  const { Deno, Buffer } = globalThis as DenoGlobals;
  if (!Deno || !Buffer) throw new GeoDatabaseError(file, 'this runtime has no Deno.readFile or Buffer');
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file);
  } catch (err) {
    const name = err instanceof Error ? err.name : '';
    const reason =
      name === 'NotFound'
        ? 'no such file'
        : name === 'NotCapable' || name === 'PermissionDenied'
          ? `not readable here (run deno with --allow-read=${file})`
          : String(err);
    throw new GeoDatabaseError(file, reason, err);
  }
  // A Buffer over the same bytes (no copy), as mmdb-lib requires.
  return openMmdbGeo(file, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), (b) => new Reader(b as never));
}
