/**
 * Client IP → country → region from a MaxMind-format database (`geo.mmdb`), on the real Node
 * server and on the real `deno` binary serving the Deno build. The database is a real MMDB file
 * written by scripts/demo/mmdb-writer.ts; the loopback client (127.0.0.1, ::1) is mapped to a country in it.
 */
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig, type PorticoConfig } from '../../core/config/index.ts';
import { startEchoOrigin, type EchoOrigin } from '../../scripts/demo/echo-origin.ts';
import { runBuild, type BuildResult } from '../../scripts/build/index.ts';
import { loadNodeGeo } from '../../targets/node/geo.ts';
import { loadNodeHot } from '../../targets/node/hot.ts';
import { startNodeServer, type NodeServer } from '../../targets/node/server.ts';
import { rawRequest } from '../e2e/_harness.ts';
import { RUNTIMES, startRuntime, type RunningRuntime } from '../runtimes/_runtimes.ts';
import { writeMmdb } from '../../scripts/demo/mmdb-writer.ts';

/** The test database: loopback IPv4 in Singapore, ::1 in Canada, documentation ranges in Europe. */
const DB = writeMmdb([
  // MaxMind's GeoIP2 record shape.
  { cidr: '127.0.0.0/8', data: { country: { iso_code: 'SG' }, continent: { code: 'AS' } } },
  // The flat shape of the ip-location-db country databases.
  { cidr: '203.0.113.0/24', data: { country_code: 'DE' } },
  { cidr: '203.0.113.128/25', data: { country_code: 'US' } },
  { cidr: '::1/128', data: { country: { iso_code: 'CA' } } },
  { cidr: '2001:db8::/32', data: { registered_country: { iso_code: 'JP' } } },
]);

let dir = '';
let eu: EchoOrigin;
let us: EchoOrigin;
let ap: EchoOrigin;
const hot = await loadNodeHot('wasm');

function geoConfig(mmdb: string, extra: Partial<PorticoConfig> = {}): PorticoConfig {
  return {
    geo: { mmdb, countryHeader: 'x-client-country' },
    origins: {
      eu: { url: eu.url, region: 'eu-west', timeoutMs: 3000 },
      us: { url: us.url, region: 'us-east', timeoutMs: 3000 },
      ap: { url: ap.url, region: 'ap-south', timeoutMs: 3000 },
    },
    pools: {
      world: {
        origins: ['eu', 'us', 'ap'],
        countries: { SG: 'ap-south' },
        continents: { EU: 'eu-west', NA: 'us-east', AS: 'ap-south' },
        defaultRegion: 'eu-west',
      },
    },
    routes: [{ id: 'geo', match: { path: '/geo' }, upstream: 'world' }],
    ...extra,
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portico-geo-'));
  await writeFile(join(dir, 'geo.mmdb'), DB);
  eu = await startEchoOrigin({ region: 'eu-west' });
  us = await startEchoOrigin({ region: 'us-east' });
  ap = await startEchoOrigin({ region: 'ap-south' });
});

afterAll(async () => {
  await Promise.all([eu?.close(), us?.close(), ap?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('geo.mmdb lookups (Node reader over the test database)', () => {
  it('gives the country of IPv4 and IPv6 addresses in both record shapes, and nothing for unknown ones', async () => {
    const geo = loadNodeGeo(await compileConfig(geoConfig(join(dir, 'geo.mmdb'))));
    if (!geo) throw new Error('no lookup');
    expect(geo('127.0.0.1')).toEqual({ country: 'SG', continent: 'AS' });
    expect(geo('203.0.113.7')).toEqual({ country: 'DE' });
    // The more specific network inside the /24 wins.
    expect(geo('203.0.113.200')).toEqual({ country: 'US' });
    expect(geo('::1')).toEqual({ country: 'CA' });
    expect(geo('2001:db8::42')).toEqual({ country: 'JP' });
    expect(geo('198.51.100.1')).toBeUndefined();
    expect(geo('not an address')).toBeUndefined();
    expect(geo('')).toBeUndefined();
  });

  it('fails at start with an error naming geo.mmdb and the file when it is missing, empty or not an MMDB file', async () => {
    const missing = join(dir, 'nope.mmdb');
    await expect(startNodeServer(await compileConfig(geoConfig(missing)), { port: 0, hot, log: () => {} })).rejects.toThrow(
      `geo.mmdb: cannot use "${missing}" as a MaxMind (MMDB) database: no such file`,
    );
    const empty = join(dir, 'empty.mmdb');
    await writeFile(empty, '');
    expect(() => loadNodeGeo({ geo: { mmdb: empty } } as never)).toThrow(/^geo\.mmdb: .*empty\.mmdb.*the file is empty/);
    const junk = join(dir, 'junk.mmdb');
    await writeFile(
      junk,
      new Uint8Array(4096).map((_, i) => (i * 131) & 0xff),
    );
    expect(() => loadNodeGeo({ geo: { mmdb: junk } } as never)).toThrow(/^geo\.mmdb: .*junk\.mmdb.*not a readable MMDB file/);
    // A real database cut short: its metadata is gone.
    const cut = join(dir, 'cut.mmdb');
    await writeFile(cut, DB.subarray(0, DB.length - 40));
    expect(() => loadNodeGeo({ geo: { mmdb: cut } } as never)).toThrow(/^geo\.mmdb: .*cut\.mmdb.*not a readable MMDB file/);
  });
});

describe('geo.mmdb on the Node server (loopback clients)', () => {
  let direct: NodeServer;
  let behindProxy: NodeServer;
  let ipv6: NodeServer | undefined;
  const logs: Record<string, unknown>[] = [];

  beforeAll(async () => {
    const file = join(dir, 'geo.mmdb');
    direct = await startNodeServer(await compileConfig(geoConfig(file)), { port: 0, hot, log: (r) => logs.push(r) });
    behindProxy = await startNodeServer(await compileConfig(geoConfig(file, { trustedProxies: ['127.0.0.1', '::1'] })), {
      port: 0,
      hot,
      log: (r) => logs.push(r),
    });
    ipv6 = await startNodeServer(await compileConfig(geoConfig(file)), { port: 0, host: '::1', hot, log: (r) => logs.push(r) });
  });

  afterAll(async () => {
    await Promise.all([direct?.drain(), behindProxy?.drain(), ipv6?.drain()]);
  });

  it('sends a client to the region of the country its socket address has in the database', async () => {
    const res = await rawRequest(direct.url, '/geo', { headers: { 'x-request-id': 'mmdb-node-1' } });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ region: 'ap-south' });
    expect(logs.find((l) => l['requestId'] === 'mmdb-node-1')?.['clientRegion']).toBe('ap-south');
  });

  it('ignores the geo header and the X-Forwarded-For of a caller that is not a trusted proxy', async () => {
    const res = await rawRequest(direct.url, '/geo', { headers: { 'x-client-country': 'DE', 'x-forwarded-for': '203.0.113.7' } });
    expect(res.json()).toMatchObject({ region: 'ap-south' });
  });

  it("believes a trusted proxy's geo header over the database", async () => {
    const res = await rawRequest(behindProxy.url, '/geo', { headers: { 'x-client-country': 'DE' } });
    expect(res.json()).toMatchObject({ region: 'eu-west' });
  });

  it('looks up the client behind a trusted proxy (X-Forwarded-For), not the proxy', async () => {
    const de = await rawRequest(behindProxy.url, '/geo', { headers: { 'x-forwarded-for': '203.0.113.7' } });
    expect(de.json()).toMatchObject({ region: 'eu-west' });
    const us1 = await rawRequest(behindProxy.url, '/geo', { headers: { 'x-forwarded-for': '203.0.113.200' } });
    expect(us1.json()).toMatchObject({ region: 'us-east' });
    // Unknown to the database: the pool's default region.
    const none = await rawRequest(behindProxy.url, '/geo', { headers: { 'x-forwarded-for': '198.51.100.1' } });
    expect(none.json()).toMatchObject({ region: 'eu-west' });
  });

  it('looks up an IPv6 client (::1, Canada: continent NA)', async () => {
    if (!ipv6) throw new Error('no IPv6 server');
    // fetch, not rawRequest: the harness takes URL.hostname, which keeps IPv6 brackets.
    const res = await fetch(`${ipv6.url}/geo`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ region: 'us-east' });
  });
});

describe('geo.mmdb on Deno (the deno build under the real deno binary)', () => {
  let build: BuildResult | undefined;
  let deno: RunningRuntime | undefined;
  let setupError: unknown;

  beforeAll(async () => {
    try {
      const configFile = join(dir, 'deno.config.json');
      // Relative: read from deno's working directory, the build's folder (inside --allow-read=.).
      await writeFile(configFile, JSON.stringify(geoConfig('geo.mmdb')));
      build = await runBuild({ target: 'deno', config: configFile, out: join(dir, 'deno-out') });
      await writeFile(join(build.outDir, 'geo.mmdb'), DB);
      deno = await startRuntime(RUNTIMES['deno'], build);
    } catch (err) {
      setupError = err;
    }
  }, 180_000);

  afterAll(async () => {
    await deno?.stop();
  }, 30_000);

  function base(): string {
    if (!deno) throw new Error(`deno never answered: ${setupError instanceof Error ? setupError.message : String(setupError)}`);
    return deno.url;
  }

  it('sends a loopback client to the region of its country in the database', async () => {
    const res = await rawRequest(base(), '/geo');
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ region: 'ap-south' });
  });

  it('ignores the geo header of an untrusted caller', async () => {
    const res = await rawRequest(base(), '/geo', { headers: { 'x-client-country': 'DE' } });
    expect(res.json()).toMatchObject({ region: 'ap-south' });
  });

  it('refuses to start without the database, naming geo.mmdb and the file', async () => {
    base();
    await deno?.stop();
    deno = undefined;
    if (!build) throw new Error('no build');
    await unlink(join(build.outDir, 'geo.mmdb'));
    const started = startRuntime(RUNTIMES['deno'], build);
    await expect(started).rejects.toThrow(/geo\.mmdb: cannot use "geo\.mmdb" as a MaxMind \(MMDB\) database: no such file/);
  }, 60_000);
});

describe('portico build and geo.mmdb', () => {
  it('refuses the edge targets, which have no file to open and use the platform geo, naming geo.mmdb', async () => {
    const configFile = join(dir, 'edge.config.json');
    await writeFile(configFile, JSON.stringify(geoConfig('geo.mmdb')));
    for (const target of ['cloudflare', 'vercel', 'fastly', 'wasi'] as const) {
      await expect(runBuild({ target, config: configFile, out: join(dir, `${target}-out`) })).rejects.toThrow(
        new RegExp(`cannot run on ${target}[^]*geo\\.mmdb: needs a database file read at start`),
      );
    }
  });
});
