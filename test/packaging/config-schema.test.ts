/**
 * The config's JSON Schema (#11 item 16): generated from the valibot schema, checked in, and
 * complete with every policy's route field and top-level block.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { POLICIES } from '../../core/policies/index.ts';
import { CONFIG_SCHEMA_PATH, configJsonSchema, configJsonSchemaText } from '../../scripts/config-json-schema.ts';

const CHECKED_IN = fileURLToPath(new URL(`../../${CONFIG_SCHEMA_PATH}`, import.meta.url));

interface Node {
  description?: string;
  properties?: Record<string, Node>;
  additionalProperties?: boolean | Node;
  items?: Node;
  required?: string[];
  anyOf?: Node[];
}

describe('the config JSON Schema', () => {
  it('is checked in exactly as `npm run build:schema` generates it (regenerate when this fails)', () => {
    expect(readFileSync(CHECKED_IN, 'utf8')).toBe(configJsonSchemaText());
  });

  it("has every policy's route field, its defaults entry and its top-level blocks, from core/policies", () => {
    const schema = configJsonSchema() as Node;
    const route = schema.properties?.['routes']?.items;
    const defaults = schema.properties?.['defaults'];
    for (const policy of POLICIES) {
      expect(Object.keys(route?.properties ?? {})).toContain(policy.name);
      expect(Object.keys(defaults?.properties ?? {})).toContain(policy.name);
      for (const block of Object.keys((policy as { blocks?: object }).blocks ?? {})) {
        expect(Object.keys(schema.properties ?? {})).toContain(block);
      }
    }
  });

  it('flags unknown fields and missing required ones, as validate does', () => {
    const schema = configJsonSchema() as Node;
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['origins', 'routes']);
    const route = schema.properties?.['routes']?.items;
    expect(route?.additionalProperties).toBe(false);
    expect(route?.required).toEqual(['upstream']);
    const origin = schema.properties?.['origins']?.additionalProperties as Node;
    expect(origin.additionalProperties).toBe(false);
    expect(origin.required).toEqual(['url']);
  });

  it('describes the fields an editor shows on hover', () => {
    const schema = configJsonSchema() as Node;
    const origin = schema.properties?.['origins']?.additionalProperties as Node;
    expect(origin.properties?.['region']?.description).toContain('Optional with a single origin');
    const match = schema.properties?.['routes']?.items?.properties?.['match'];
    expect(match?.properties?.['path']?.description).toContain('/api/*');
    expect(match?.properties?.['regex']?.description).toContain('RE2');
  });
});
