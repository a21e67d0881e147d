/**
 * `portico init [--ts]`: writes a starter config in the working directory, portico.config.json
 * (with a `$schema`, so editors complete and check it) or portico.config.ts (typed, commented).
 * It never overwrites a config that is already there.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_SCHEMA_PATH, findConfigFile } from './config-file.ts';

const out = (s: string) => process.stdout.write(s + '\n');
const err = (s: string) => process.stderr.write(s + '\n');

export interface InitOptions {
  /** Write portico.config.ts instead of portico.config.json. Default false. */
  ts?: boolean;
  /** Folder to write into. Default: the working directory. */
  dir?: string;
}

/** The schema file of the portico that runs, as `$schema` should name it from `dir`. */
export function schemaReference(dir: string): string {
  const installed = join(dir, 'node_modules', 'portico', CONFIG_SCHEMA_PATH);
  const file = existsSync(installed) ? installed : fileURLToPath(new URL(`../${CONFIG_SCHEMA_PATH}`, import.meta.url));
  const rel = relative(dir, file).split(sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

/** The starter config, as data: two origins with failover, a canary, a prefix with a rewrite, a fallback. */
function starter() {
  return {
    origins: {
      eu: { url: 'https://eu.api.example.com', region: 'eu-west', timeoutMs: 10000 },
      us: { url: 'https://us.api.example.com', region: 'us-east' },
    },
    routes: [
      { id: 'user', match: { path: '/users/:id', methods: ['GET'] }, upstream: ['eu', 'us'] },
      {
        id: 'api-canary',
        match: { path: '/api/*', headers: { 'x-canary': '1' } },
        upstream: 'us',
        rewrite: { stripPrefix: '/api' },
      },
      { id: 'api', match: { path: '/api/*' }, upstream: 'eu', rewrite: { stripPrefix: '/api' } },
      { id: 'everything-else', fallback: true, upstream: 'eu' },
    ],
  };
}

/** portico.config.json's text. */
export function starterJson(dir: string): string {
  return `${JSON.stringify({ $schema: schemaReference(dir), ...starter() }, null, 2)}\n`;
}

/** portico.config.ts's text. The import is type-only, so the file loads even where portico is not installed. */
export function starterTs(): string {
  return `// portico config: \`portico validate\` checks it, \`portico dev --config portico.config.ts\` runs it.
import type { PorticoConfig } from 'portico/core/config';

export default {
  // Origins are the services portico forwards to. \`region\` labels them in logs and for region
  // choice (optional with a single origin, whose region is then its name).
  origins: {
    eu: { url: 'https://eu.api.example.com', region: 'eu-west', timeoutMs: 10000 },
    us: { url: 'https://us.api.example.com', region: 'us-east' },
  },
  // Precedence does not depend on the order here: exact paths, then params, then prefixes
  // (longest first), then regexes, then the fallback. \`portico explain GET /api/x\` shows why.
  routes: [
    // A param route; a list of origins fails over in order (GET and HEAD only).
    { id: 'user', match: { path: '/users/:id', methods: ['GET'] }, upstream: ['eu', 'us'] },
    // A header condition ranks this above the plain /api/* below.
    { id: 'api-canary', match: { path: '/api/*', headers: { 'x-canary': '1' } }, upstream: 'us', rewrite: { stripPrefix: '/api' } },
    // A prefix route: "/api/*" is /api and everything under it; the origin gets the path without /api.
    { id: 'api', match: { path: '/api/*' }, upstream: 'eu', rewrite: { stripPrefix: '/api' } },
    // Whatever nothing else matched.
    { id: 'everything-else', fallback: true, upstream: 'eu' },
  ],
} satisfies PorticoConfig;
`;
}

/** Runs `portico init`; returns the exit code. */
export async function runInitCommand(options: InitOptions): Promise<number> {
  const dir = resolve(options.dir ?? process.cwd());
  const name = options.ts ? 'portico.config.ts' : 'portico.config.json';
  const target = join(dir, name);
  const existing = existsSync(target) ? target : findConfigFile(dir);
  if (existing) {
    err(`${basename(existing)} already exists here: not overwriting it (edit it, or remove it and run portico init again)`);
    return 1;
  }
  try {
    // wx: fails rather than overwrite a file that appeared since the check.
    await writeFile(target, options.ts ? starterTs() : starterJson(dir), { flag: 'wx' });
  } catch (e) {
    err(`could not write ${name}: ${(e as Error).message}`);
    return 1;
  }
  out(`wrote ${name}: two origins, four routes.`);
  out('next:');
  out(`  edit the origins' urls, then`);
  out(`  npx portico validate ${name}`);
  out(`  npx portico dev --config ${name}`);
  out(`  npx portico explain GET /api/orders --config ${name}`);
  return 0;
}
