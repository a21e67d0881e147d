/**
 * `rewrite`: the path the origin receives. `stripPrefix` removes a leading prefix and
 * `replacePrefix` swaps one, both on segment boundaries only (`/api` never strips `/apix`).
 */
import * as v from 'valibot';
import { normalizePath } from '../../http/normalize.ts';
import { definePolicy } from '../../pipeline/policy.ts';

const prefix = v.pipe(v.string('expected a path prefix (string)'), v.startsWith('/', 'expected a prefix starting with "/"'));

export interface CompiledRewrite {
  from: string;
  to: string;
}

/** `path` with its leading `from` (on a segment boundary) replaced by `to`; unchanged otherwise. */
export function swapPrefix(path: string, from: string, to: string): string {
  if (path !== from && !path.startsWith(from + '/')) return path;
  const rest = path.slice(from.length);
  if (to === '/') return rest || '/';
  return to + rest;
}

export const rewritePolicy = definePolicy({
  name: 'rewrite',
  phase: 'request',
  bodies: 'none',
  schema: v.strictObject(
    {
      /** Removes this leading path prefix (on a segment boundary) before forwarding. */
      stripPrefix: v.optional(prefix),
      /** Replaces one whole leading segment sequence, e.g. { from: "/v1", to: "/v2" }. */
      replacePrefix: v.optional(v.strictObject({ from: prefix, to: prefix }, 'expected { from, to }')),
    },
    'expected a rewrite object { stripPrefix? , replacePrefix? }',
  ),
  compile(block, { at, issues }): CompiledRewrite | undefined {
    if (block.stripPrefix !== undefined && block.replacePrefix !== undefined) {
      issues.push({ path: at, message: 'expected only one of stripPrefix and replacePrefix' });
    }
    let bad = false;
    for (const [field, value] of [
      ['stripPrefix', block.stripPrefix],
      ['replacePrefix.from', block.replacePrefix?.from],
      ['replacePrefix.to', block.replacePrefix?.to],
    ] as const) {
      if (value === undefined) continue;
      const n = normalizePath(value);
      if (!n.ok || n.path !== value || (value.endsWith('/') && value !== '/')) {
        bad = true;
        issues.push({
          path: `${at}.${field}`,
          message: `expected a normalized path prefix without a trailing slash, got ${JSON.stringify(value)}`,
        });
      }
    }
    if (bad) return undefined;
    if (block.stripPrefix !== undefined) return { from: block.stripPrefix, to: '/' };
    if (block.replacePrefix !== undefined) return { from: block.replacePrefix.from, to: block.replacePrefix.to };
    return undefined;
  },
  describe: ({ from, to }) => (to === '/' ? `strip ${from}` : `${from} → ${to}`),
  create({ from, to }) {
    return (exchange, next) => {
      exchange.upstreamPath = swapPrefix(exchange.upstreamPath, from, to);
      return next();
    };
  },
});
