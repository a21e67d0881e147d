/**
 * The synthetic multi-tenant table: 10,000 routes over 400 hosts, generated from a seed so that
 * every run (and every machine) gets the same table. Each host is one tenant's API: a version
 * prefix, four resources with nested sub-resources (0 to 3 params) and one static-file wildcard.
 * No two routes of a host can match the same request, so precedence never decides a case and
 * every router must give the same answer.
 *
 * Run `npx tsx bench/_multitenant.ts [file]` to write the table as JSON (it is not committed:
 * it is about 0.6 MB and is generated at bench time).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RequestCase, RouteSpec, RouteTable, SkippedCase } from './_tables.ts';

export interface MultiTenantOptions {
  /** Number of routes, a multiple of ROUTES_PER_HOST; default 10,000. */
  routes?: number;
  /** PRNG seed, default 0x9e3779b9. */
  seed?: number;
}

const ROUTES_PER_HOST = 25;
const RESOURCES_PER_HOST = 4;
const DEFAULT_SEED = 0x9e3779b9;

const VERSIONS = ['v1', 'v2', 'v3', 'api', 'api/v1', 'api/v2'];
const RESOURCES = [
  'orders',
  'customers',
  'invoices',
  'products',
  'carts',
  'payments',
  'shipments',
  'refunds',
  'users',
  'teams',
  'projects',
  'tickets',
  'articles',
  'comments',
  'devices',
  'sensors',
  'accounts',
  'transfers',
  'coupons',
  'reviews',
  'bookings',
  'rooms',
  'flights',
  'tracks',
  'albums',
  'playlists',
  'courses',
  'lessons',
  'vehicles',
  'drivers',
  'stores',
  'suppliers',
];
const SUBRESOURCES = ['items', 'notes', 'events', 'members', 'versions', 'lines', 'tags', 'files'];
const LEAVES = ['history', 'attachments', 'audits', 'links', 'metrics', 'parts'];
const STATIC_PREFIXES = ['static', 'assets', 'files', 'public', 'media'];
const WORDS = [
  'acme',
  'globex',
  'initech',
  'umbrella',
  'hooli',
  'stark',
  'wayne',
  'wonka',
  'tyrell',
  'cyberdyne',
  'soylent',
  'aperture',
  'vandelay',
  'gringotts',
  'oscorp',
  'massive',
  'dunder',
  'prestige',
];
const DOMAINS = ['example.com', 'example.net', 'api.example.org', 'tenants.example.io'];

/** sfc32: a small, fast, well-distributed 32-bit PRNG (public domain, by Chris Doty-Humphrey). */
function createRandom(seed: number): () => number {
  let a = 0x243f6a88,
    b = 0x85a308d3,
    c = seed >>> 0,
    d = 1;
  const next = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    const r = (t + d) | 0;
    c = (c + r) | 0;
    return (r >>> 0) / 4294967296;
  };
  for (let i = 0; i < 16; i++) next();
  return next;
}

function pick<T>(random: () => number, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)]!;
}

/** `k` distinct items of `list`, in random order. */
function pickDistinct<T>(random: () => number, list: readonly T[], k: number): T[] {
  const copy = [...list];
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, k);
}

interface Tenant {
  host: string;
  version: string;
  resources: { name: string; sub: string; leaf: string }[];
  staticPrefix: string;
}

function tenantRoutes(t: Tenant): RouteSpec[] {
  const routes: RouteSpec[] = [];
  const add = (method: string, path: string): void => {
    routes.push({ host: t.host, method, path: `/${t.version}${path}` });
  };
  for (const r of t.resources) {
    add('GET', `/${r.name}`);
    add('POST', `/${r.name}`);
    add('GET', `/${r.name}/:id`);
    add('DELETE', `/${r.name}/:id`);
    add('GET', `/${r.name}/:id/${r.sub}`);
    add('GET', `/${r.name}/:id/${r.sub}/:sid/${r.leaf}/:lid`);
  }
  routes.push({ host: t.host, method: 'GET', path: `/${t.staticPrefix}/*` });
  return routes;
}

/**
 * Generates the table and its five request cases (on the middle tenant).
 * @example generateMultiTenantTable({ routes: 10_000 }).routes.length // 10000
 */
export function generateMultiTenantTable(options: MultiTenantOptions = {}): RouteTable {
  const size = options.routes ?? 10_000;
  if (size % ROUTES_PER_HOST !== 0 || size <= 0) {
    throw new Error(`multi-tenant table size must be a positive multiple of ${ROUTES_PER_HOST}, got ${size}`);
  }
  const random = createRandom(options.seed ?? DEFAULT_SEED);
  const tenants: Tenant[] = [];
  for (let i = 0; i < size / ROUTES_PER_HOST; i++) {
    const number = String(i).padStart(4, '0');
    const tenant: Tenant = {
      host: `${pick(random, WORDS)}-${number}.${pick(random, DOMAINS)}`,
      version: pick(random, VERSIONS),
      resources: pickDistinct(random, RESOURCES, RESOURCES_PER_HOST).map((name) => ({
        name,
        sub: pick(random, SUBRESOURCES),
        leaf: pick(random, LEAVES),
      })),
      staticPrefix: pick(random, STATIC_PREFIXES),
    };
    tenants.push(tenant);
  }
  const routes = tenants.flatMap(tenantRoutes);
  // Config order is not sorted by host in real life: shuffle the whole table (Fisher-Yates).
  for (let i = routes.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [routes[i], routes[j]] = [routes[j]!, routes[i]!];
  }

  const t = tenants[Math.floor(tenants.length / 2)]!;
  const r = t.resources[0]!;
  const base = `/${t.version}/${r.name}`;
  const req = (id: RequestCase['id'], method: string, path: string): RequestCase => ({ id, method, host: t.host, path });
  const cases: (RequestCase | SkippedCase)[] = [
    req('static', 'GET', base),
    req('param1', 'GET', `${base}/84123`),
    req('param3', 'GET', `${base}/84123/${r.sub}/77/${r.leaf}/9`),
    req('wildcard', 'GET', `/${t.staticPrefix}/css/site.css`),
    req('notFound', 'GET', `${base}/84123/${r.sub}/77`),
  ];
  return {
    id: 'multitenant',
    title: `Multi-tenant (${size.toLocaleString('en-US')} routes, ${tenants.length} hosts)`,
    source: `generated by bench/_multitenant.ts (sfc32, seed 0x${(options.seed ?? DEFAULT_SEED).toString(16)})`,
    hosts: true,
    routes,
    cases,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2] ?? 'multitenant-10k.json';
  writeFileSync(file, JSON.stringify(generateMultiTenantTable(), null, 1) + '\n');
  console.log(`wrote ${file}`);
}
