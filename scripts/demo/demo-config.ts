/**
 * The embedded demo: three loopback origins standing for three regions, and a config that
 * exercises exact, param, prefix, regex, host and header routing, rewrites and header transforms,
 * auth, limits, a cache, failover between regions, and metrics.
 */
import { defineConfig, type PorticoConfig } from '../../core/config/index.ts';
import { demoIssuers, demoJwtRoute } from './demo-jwt.ts';
import { writeMmdb } from './mmdb-writer.ts';

export interface DemoOrigins {
  euWest: string;
  usEast: string;
  apSouth: string;
  /** The demo issuer's loopback origin, which serves its JWKS (demo-jwt.ts). */
  idp: string;
  /** The demo's country database (demoGeoDatabase, written to a temp file by `portico dev`). */
  mmdb?: string;
}

/**
 * The demo's MMDB country database: this machine's loopback addresses stand for a client in
 * Singapore (127.0.0.0/8) and one in Canada (::1), so the `geo` route shows the region choice.
 */
export function demoGeoDatabase(): Uint8Array {
  return writeMmdb(
    [
      { cidr: '127.0.0.0/8', data: { country: { iso_code: 'SG' }, continent: { code: 'AS' } } },
      { cidr: '::1/128', data: { country: { iso_code: 'CA' }, continent: { code: 'NA' } } },
    ],
    'Portico-Demo-Country',
  );
}

/** The demo's one API key (a demo value, printed in the banner; its hash is in the config). */
export const DEMO_API_KEY = 'pk_lyTaSzNqOD400hsbntnORNLBgznyhp34i08qLkmH6Wc';

export function demoConfig(origins: DemoOrigins): PorticoConfig {
  return defineConfig({
    version: 1,
    trustedProxies: [],
    // The demo API may be called from a dev server's page (Vite's default port).
    defaults: { cors: { origins: ['http://localhost:5173'], exposeHeaders: ['x-request-id'], maxAge: 600 } },
    // Only the hash is in the config; the key itself is printed in the banner (DEMO_API_KEY).
    // A demo issuer whose JWKS the gateway fetches from a loopback origin, as from a real IdP.
    issuers: demoIssuers(origins.idp),
    apiKeys: {
      'demo-partner': {
        hash: 'sha256:9be77610f627877a684df88e511585b14ba3d23a1720827d66cd0b05ba9a4312',
        plan: 'free',
        scopes: ['partners:read'],
        limits: { requestsPerMinute: 60 },
      },
    },
    // The admin token guards /metrics and /_portico/purge; `portico dev` makes one per run.
    admin: { token: { env: 'PORTICO_ADMIN_TOKEN' } },
    observability: {
      metrics: {},
      tracing: { sampleRatio: 1 },
      serverTiming: ['catalog', 'nearest'],
      // curl from this machine counts as a synthetic monitor: it may see the routing decision.
      probes: { from: ['127.0.0.1/32'] },
    },
    // The client's country from the demo's MMDB database (demoGeoDatabase), for the `geo` route.
    ...(origins.mmdb ? { geo: { mmdb: origins.mmdb } } : {}),
    pools: {
      world: {
        origins: ['eu-west', 'us-east', 'ap-south'],
        countries: { SG: 'ap-south' },
        continents: { EU: 'eu-west', NA: 'us-east', AS: 'ap-south' },
        defaultRegion: 'eu-west',
      },
    },
    origins: {
      'eu-west': { url: origins.euWest, region: 'eu-west', timeoutMs: 2000 },
      'us-east': { url: origins.usEast, region: 'us-east', timeoutMs: 2000 },
      'ap-south': { url: origins.apSouth, region: 'ap-south', timeoutMs: 2000 },
    },
    routes: [
      { id: 'status', match: { path: '/api/status', methods: ['GET'] }, upstream: 'eu-west' },
      { ...demoJwtRoute('eu-west'), identity: {} },
      {
        id: 'limited',
        match: { path: '/limited/*', methods: ['GET'] },
        upstream: 'eu-west',
        rewrite: { stripPrefix: '/limited' },
        // 5 requests per 10 s per client address, counted in this process's Wasm bucket table.
        rateLimit: { key: 'ip', limits: [{ name: 'per-client', requests: 5, per: '10s' }] },
      },
      // An RFC 9111 shared cache: the origin sends s-maxage=30, stale-while-revalidate=60 and
      // Surrogate-Key: catalog (echo-origin.ts), so a purge by tag empties it.
      {
        id: 'catalog',
        match: { path: '/catalog/*', methods: ['GET', 'HEAD'] },
        upstream: 'eu-west',
        cache: { key: { ignoreQuery: ['utm_*'] } },
      },
      // ap-south first; the others by measured latency. Its breaker opens after 5 failures.
      {
        id: 'nearest',
        match: { path: '/nearest/*', methods: ['GET'] },
        upstream: ['ap-south', 'eu-west', 'us-east'],
        rewrite: { stripPrefix: '/nearest' },
      },
      // The pool: the client's region first (its country in the demo's geo database), then the
      // other regions by measured latency.
      { id: 'geo', match: { path: '/geo/*', methods: ['GET'] }, upstream: 'world', rewrite: { stripPrefix: '/geo' } },
      {
        id: 'partners',
        match: { path: '/partners/*', methods: ['GET'] },
        upstream: 'eu-west',
        apiKey: { query: 'api_key' },
        identity: { metadata: { plan: 'x-portico-plan' } },
      },
      {
        id: 'user-canary',
        match: { path: '/api/users/:id', methods: ['GET'], headers: { 'x-canary': '1' } },
        upstream: 'us-east',
        responseHeaders: { set: { 'x-portico-canary': 'true' } },
      },
      { id: 'user', match: { path: '/api/users/:id', methods: ['GET', 'PUT', 'DELETE'] }, upstream: ['eu-west', 'us-east'] },
      {
        id: 'api',
        match: { path: '/api/*', methods: ['GET', 'POST'] },
        upstream: 'eu-west',
        rewrite: { stripPrefix: '/api' },
        requestHeaders: { set: { 'x-gateway': 'portico' }, remove: ['cookie'] },
        responseHeaders: { remove: ['x-origin-secret'] },
      },
      { id: 'v1-compat', match: { path: '/v1/*' }, upstream: 'us-east', rewrite: { replacePrefix: { from: '/v1', to: '/v2' } } },
      {
        id: 'reports',
        match: { regex: '^/reports/(?<year>\\d{4})-(?<month>\\d{2})\\.csv$', methods: ['GET'] },
        upstream: 'ap-south',
      },
      { id: 'tenant', match: { path: '/*', hosts: ['*.demo.localhost'] }, upstream: 'ap-south' },
      { id: 'fallback', fallback: true, match: { methods: ['GET'] }, upstream: 'ap-south' },
    ],
  });
}
