/**
 * A strict OTLP/JSON decoder for the test receiver, driven by opentelemetry-proto's own `.proto`
 * definitions: a body whose field is misnamed, mistyped or unknown is refused with the path of
 * the fault, and an accepted body comes back as the protobuf message a collector would hold.
 *
 * Where the definitions come from:
 * - `@opentelemetry/otlp-transformer` (0.301) ships neither the `.proto` files nor a generated
 *   root any more (its protobuf writer is hand-written), and its last release with a generated
 *   root (0.209) has a static module without reflection, which could not say what a JSON key
 *   should be. The current OpenTelemetry JS exporter packages (the gRPC and proto exporter bases
 *   included) ship none either.
 * - `@elastic/mockotlpserver`, Elastic's OTLP test receiver (Apache-2.0, kept in step with the
 *   opentelemetry-js releases), ships opentelemetry-proto's `.proto` files unchanged (v1.4.0) and
 *   their pbts-generated types. We take the files and the types from it, not its server.
 * - protobufjs (the library the OpenTelemetry JS exporters generated their code with) reads the
 *   files into a reflection root whose `Type`s drive the walk below, then `fromObject` and
 *   `verify` turn the checked JSON into a message.
 *
 * The rules are OTLP/JSON's (the OTLP specification, "JSON Protobuf Encoding"), which are stricter
 * than proto3's JSON mapping: keys are lowerCamelCase (the proto names are refused), enums are
 * integers, trace and span ids are hex (not base64), and 64-bit integers are decimal strings. A
 * real collector ignores unknown fields for forward compatibility; this receiver refuses them,
 * since here an unknown field can only be a mistake of ours.
 */
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import protobuf from 'protobufjs';

const PROTOS = dirname(createRequire(import.meta.url).resolve('@elastic/mockotlpserver/package.json'));
const root = new protobuf.Root();
// The files import each other by paths from the definitions' root ("opentelemetry/proto/...").
root.resolvePath = (_origin, target) => (isAbsolute(target) ? target : join(PROTOS, target));
root.loadSync([
  'opentelemetry/proto/collector/trace/v1/trace_service.proto',
  'opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
]);
root.resolveAll();

export const TRACE_REQUEST = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
export const METRICS_REQUEST = root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest');

/** Bytes fields that OTLP/JSON writes as hex, with their length in bytes. */
const HEX_IDS: Record<string, number> = { traceId: 16, spanId: 8, parentSpanId: 8 };

export class OtlpJsonError extends Error {
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

const INT64 = /^-?(0|[1-9]\d*)$/;
const UINT64 = /^(0|[1-9]\d*)$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? `the string ${JSON.stringify(v)}` : `${typeof v} ${JSON.stringify(v)}`;
}

function scalar(field: protobuf.Field, v: unknown, path: string): unknown {
  const fail = (want: string): never => {
    throw new OtlpJsonError(path, `${field.type} wants ${want}, got ${describe(v)}`);
  };
  switch (field.type) {
    case 'string':
      return typeof v === 'string' ? v : fail('a string');
    case 'bool':
      return typeof v === 'boolean' ? v : fail('a boolean');
    case 'double':
    case 'float':
      if (typeof v === 'number' && Number.isFinite(v)) return v;
      return v === 'NaN' || v === 'Infinity' || v === '-Infinity' ? Number(v) : fail('a number');
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return Number.isInteger(v) && (v as number) >= -(2 ** 31) && (v as number) < 2 ** 31 ? v : fail('a 32-bit integer');
    case 'uint32':
    case 'fixed32':
      return Number.isInteger(v) && (v as number) >= 0 && (v as number) < 2 ** 32 ? v : fail('an unsigned 32-bit integer');
    case 'int64':
    case 'sint64':
    case 'sfixed64': {
      const ok = typeof v === 'string' && INT64.test(v) && BigInt(v) >= -(2n ** 63n) && BigInt(v) < 2n ** 63n;
      return ok ? v : fail('a decimal string (64-bit integers are strings in OTLP/JSON)');
    }
    case 'uint64':
    case 'fixed64': {
      const ok = typeof v === 'string' && UINT64.test(v) && BigInt(v) < 2n ** 64n;
      return ok ? v : fail('an unsigned decimal string (64-bit integers are strings in OTLP/JSON)');
    }
    case 'bytes': {
      const bytes = HEX_IDS[field.name];
      if (bytes === undefined) return typeof v === 'string' && BASE64.test(v) ? v : fail('base64');
      if (typeof v !== 'string') return fail(`${bytes * 2} hex digits`);
      // An empty parent id is how a root span may say it has none.
      if (v === '' && field.name === 'parentSpanId') return new Uint8Array(0);
      if (!new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(v)) return fail(`${bytes * 2} hex digits`);
      if (/^0+$/.test(v)) throw new OtlpJsonError(path, `${field.name} is all zeroes, which W3C trace context forbids`);
      return Uint8Array.from(v.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
    }
    default:
      return fail(`a type this decoder does not know (${field.type})`);
  }
}

function value(field: protobuf.Field, v: unknown, path: string): unknown {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) return message(t, v, path);
  if (t instanceof protobuf.Enum) {
    if (!Number.isInteger(v)) throw new OtlpJsonError(path, `enums are integers in OTLP/JSON, got ${describe(v)}`);
    if (t.valuesById[v as number] === undefined) throw new OtlpJsonError(path, `${v} is not a value of ${t.name}`);
    return v;
  }
  return scalar(field, v, path);
}

/** Checks a JSON value against a message type; returns it in the form `Type.fromObject` takes. */
function message(type: protobuf.Type, json: unknown, path: string): Record<string, unknown> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new OtlpJsonError(path, `${type.name} wants an object, got ${describe(json)}`);
  }
  const out: Record<string, unknown> = {};
  const oneofs = new Map<string, string>();
  for (const [key, v] of Object.entries(json)) {
    const at = `${path}.${key}`;
    // protobufjs names fields in lowerCamelCase, as OTLP/JSON's keys are.
    const field = Object.hasOwn(type.fields, key) ? type.fields[key] : undefined;
    if (!field) {
      const snake = type.fieldsArray.find((f) => f.name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) === key);
      throw new OtlpJsonError(
        at,
        snake ? `OTLP/JSON keys are lowerCamelCase: ${snake.name}` : `${type.name} has no field ${key}`,
      );
    }
    if (v === null) throw new OtlpJsonError(at, 'null (leave the field out instead)');
    if (field.partOf) {
      const other = oneofs.get(field.partOf.name);
      if (other) throw new OtlpJsonError(at, `${key} and ${other} are one of ${field.partOf.name}: set only one`);
      oneofs.set(field.partOf.name, key);
    }
    if (field.map) throw new OtlpJsonError(at, 'map fields are not used by OTLP');
    if (field.repeated) {
      if (!Array.isArray(v))
        throw new OtlpJsonError(at, `a repeated ${field.resolvedType?.name ?? field.type} wants an array, got ${describe(v)}`);
      out[key] = v.map((item, i) => value(field, item, `${at}[${i}]`));
    } else {
      out[key] = value(field, v, at);
    }
  }
  return out;
}

/** Decodes an OTLP/JSON body as a message of `type`; throws an `OtlpJsonError` naming the first fault. */
export function decodeOtlpJson<T>(type: protobuf.Type, json: unknown): T {
  const decoded = type.fromObject(message(type, json, type.name));
  const fault = type.verify(decoded);
  if (fault) throw new OtlpJsonError(type.name, fault);
  return decoded as unknown as T;
}

/** Bytes as lowercase hex (ids as W3C trace context and OTLP/JSON write them). */
export function hex(bytes: Uint8Array | null | undefined): string {
  let s = '';
  for (const b of bytes ?? []) s += b.toString(16).padStart(2, '0');
  return s;
}
