/**
 * `requestHeaders` and `responseHeaders`: headers removed, then set, on the way to the origin and
 * on the way back. The gateway's own headers (hop-by-hop, `host`, `content-length`) cannot be set.
 */
import * as v from 'valibot';
import { headerName, headerValue } from '../../config/primitives.ts';
import type { ConfigIssue } from '../../errors.ts';
import { HOP_BY_HOP_HEADERS } from '../../http/headers.ts';
import { definePolicy } from '../../pipeline/policy.ts';

export interface CompiledHeaderTransform {
  set: [name: string, value: string][];
  remove: string[];
}

const transformSchema = v.strictObject(
  {
    /** Headers to set (replacing any value the message had). */
    set: v.optional(v.record(headerName, headerValue, 'expected an object of header name → value')),
    /** Header names to remove. */
    remove: v.optional(v.array(headerName, 'expected an array of header names')),
  },
  'expected { set?, remove? }',
);

function compileTransform(
  t: v.InferOutput<typeof transformSchema>,
  at: string,
  issues: ConfigIssue[],
): CompiledHeaderTransform | undefined {
  const set: [string, string][] = [];
  for (const [name, value] of Object.entries(t.set ?? {})) {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP_HEADERS.has(lower) || lower === 'host' || lower === 'content-length') {
      issues.push({ path: `${at}.set`, message: `header "${name}" is managed by the gateway and cannot be set` });
      continue;
    }
    set.push([lower, value]);
  }
  const remove = (t.remove ?? []).map((n) => n.toLowerCase());
  return set.length === 0 && remove.length === 0 ? undefined : { set, remove };
}

/** Removes then sets headers, per a compiled transform. */
export function applyHeaderTransform(headers: Headers, t: CompiledHeaderTransform): void {
  for (const name of t.remove) headers.delete(name);
  for (const [name, value] of t.set) headers.set(name, value);
}

export const requestHeadersPolicy = definePolicy({
  name: 'requestHeaders',
  phase: 'request',
  schema: transformSchema,
  compile: (block, { at, issues }) => compileTransform(block, at, issues),
  create(t) {
    return (exchange, next) => {
      applyHeaderTransform(exchange.upstreamHeaders, t);
      return next();
    };
  },
});

export const responseHeadersPolicy = definePolicy({
  name: 'responseHeaders',
  phase: 'response',
  schema: transformSchema,
  compile: (block, { at, issues }) => compileTransform(block, at, issues),
  create(t) {
    return async (_exchange, next) => {
      const response = await next();
      applyHeaderTransform(response.headers, t);
      return response;
    };
  },
});
