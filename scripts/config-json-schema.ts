/**
 * The JSON Schema of portico.config.json, generated from the valibot schema (core/config) with
 * @valibot/to-json-schema, so editors complete and check a config as `validate` would. It is
 * checked in under schema/ and shipped in the package; `npm run build:schema` rewrites it, and a
 * test fails when the checked-in file is stale. Policies' fields and top-level blocks come from
 * core/policies/index.ts through ConfigSchema, so a new policy appears here once regenerated.
 *
 * What JSON Schema cannot say (origin URLs without credentials, references between blocks,
 * regexes RE2 accepts) stays with `portico validate`: conversions that have no JSON Schema
 * counterpart (valibot's check and transforms) are left out, not guessed.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { toJsonSchema } from '@valibot/to-json-schema';
import { ConfigSchema } from '../core/config/schema.ts';
import { CONFIG_SCHEMA_PATH } from './config-file.ts';

export { CONFIG_SCHEMA_PATH };

const FILE = fileURLToPath(new URL(`../${CONFIG_SCHEMA_PATH}`, import.meta.url));

/** The config's JSON Schema (draft-07: the version editors support best). */
export function configJsonSchema(): Record<string, unknown> {
  const generated = toJsonSchema(ConfigSchema, { target: 'draft-07', typeMode: 'input', errorMode: 'ignore' }) as Record<
    string,
    unknown
  >;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    title: 'portico config',
    description:
      'Config of the portico API gateway (portico.config.json). Generated from the valibot schema by `npm run build:schema`; `portico validate` checks what this schema cannot (references, URL rules, regexes).',
    ...rest,
  };
}

/** The text written to schema/portico.config.schema.json. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await writeFile(FILE, configJsonSchemaText());
  process.stdout.write(`wrote ${CONFIG_SCHEMA_PATH}\n`);
}
