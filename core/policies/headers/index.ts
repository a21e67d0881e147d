/**
 * `requestHeaders` and `responseHeaders`: headers removed, then set, on the way to the origin and
 * on the way back. The gateway's own headers (hop-by-hop, `host`, `content-length`) cannot be set.
 */
import * as v from 'valibot';
import { headerName, headerValue, secretRef } from '../../config/primitives.ts';
import { type ConfigIssue, PorticoError } from '../../errors.ts';
import { deleteKnown, setKnown } from '../../http/header-map.ts';
import { HOP_BY_HOP_HEADERS } from '../../http/headers.ts';
import { definePolicy, type PolicyRuntime, type SecretRef } from '../../pipeline/policy.ts';

export interface CompiledHeaderTransform {
  /** A value is text, or a secret reference resolved at startup (an origin's API key, say). */
  set: [name: string, value: string | SecretRef][];
  remove: string[];
}

/** A transform with its secrets resolved: what runs per request. */
interface ResolvedTransform {
  set: [name: string, value: string][];
  remove: string[];
}

const transformSchema = v.strictObject(
  {
    /** Headers to set (replacing any value the message had). */
    set: v.optional(
      v.record(
        headerName,
        v.union(
          [headerValue, secretRef],
          'expected a header value of visible ASCII with no CR or LF, or a secret { "env": "VARIABLE" }',
        ),
        'expected an object of header name → value',
      ),
    ),
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
  const set: [string, string | SecretRef][] = [];
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

/** Resolves the secret values of a transform, once per route at startup. */
async function resolveTransform(t: CompiledHeaderTransform, at: string, runtime: PolicyRuntime): Promise<ResolvedTransform> {
  const set: [string, string][] = [];
  for (const [name, value] of t.set) {
    const text = typeof value === 'string' ? value : await runtime.secret(value, `${at}.set.${name}`);
    // A secret is checked as config values are: no CR/LF (no header injection from the environment).
    if (!/^[\t\x20-\x7e]*$/.test(text))
      throw new PorticoError(
        'ERR_CONFIG_INVALID',
        `${at}.set.${name}: the secret ${(value as SecretRef).env} is not a valid header value`,
      );
    // Trimmed here as Headers.set would trim it, so that each request can set it unchecked.
    set.push([name, text.replace(/^[\t ]+|[\t ]+$/g, '')]);
  }
  return { set, remove: t.remove };
}

/**
 * Removes then sets headers, per a resolved transform. Names are lower-case tokens and values
 * checked and trimmed (compileTransform, resolveTransform), so a HeaderMap takes them without
 * checking each again on every request.
 */
export function applyHeaderTransform(headers: Headers, t: ResolvedTransform): void {
  for (const name of t.remove) deleteKnown(headers, name);
  for (const [name, value] of t.set) setKnown(headers, name, value);
}

const describeTransform = (t: CompiledHeaderTransform): string =>
  [...t.remove.map((n) => `-${n}`), ...t.set.map(([n]) => `+${n}`)].join(' ');

export const requestHeadersPolicy = definePolicy({
  name: 'requestHeaders',
  phase: 'request',
  bodies: 'none',
  defaultable: true,
  schema: transformSchema,
  compile: (block, { at, issues }) => compileTransform(block, at, issues),
  describe: describeTransform,
  async create(compiled, runtime, _shared, at) {
    const t = await resolveTransform(compiled, at, runtime);
    return (exchange, next) => {
      applyHeaderTransform(exchange.upstreamHeaders, t);
      return next();
    };
  },
});

export const responseHeadersPolicy = definePolicy({
  name: 'responseHeaders',
  phase: 'response',
  bodies: 'none',
  defaultable: true,
  schema: transformSchema,
  compile: (block, { at, issues }) => compileTransform(block, at, issues),
  describe: describeTransform,
  async create(compiled, runtime, _shared, at) {
    const t = await resolveTransform(compiled, at, runtime);
    const apply = (response: Response): Response => {
      applyHeaderTransform(response.headers, t);
      return response;
    };
    // A reaction on the next step's promise, not an async function: no frame to suspend and resume.
    return (_exchange, next) => next().then(apply);
  },
});
