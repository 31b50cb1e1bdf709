import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { Document } from 'yaml';
import { distinctSchemaErrors } from '../diagnostics/ajv-errors.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { closest } from '../diagnostics/suggest.js';
import { precompiledValidators, schemaAjvOptions, standaloneModule } from '../precompiled-validators.js';
import { nodeAtPath, yamlPathOf, type YamlSpans } from './yaml-spans.js';

/** Absolute path of the published JSON Schema of the mapping language. */
export const mappingSchemaPath = new URL('../../schema/mapping.schema.json', import.meta.url);

interface SchemaValidators {
  readonly schema: Record<string, unknown>;
  readonly mapping: ValidateFunction;
  readonly library: ValidateFunction;
}

let validators: SchemaValidators | undefined;

const libraryRef = (schema: Record<string, unknown>): string => `${String(schema.$id)}#/definitions/library`;

/** Where the build writes the validators compiled ahead of time (next to this module in dist/). */
export const precompiledValidatorsFile = 'schema-validators.cjs';

/**
 * The schema's validators as a standalone CommonJS module: the build writes it next to this module, so that
 * loading a mapping does not compile the schema first (about 90 ms of every command).
 */
export function standaloneValidators(): string {
  const schemaText = readFileSync(mappingSchemaPath, 'utf8');
  const schema = JSON.parse(schemaText) as Record<string, unknown>;
  return standaloneModule(schema, schemaText, { mapping: String(schema.$id), library: libraryRef(schema) });
}

function getValidators(): SchemaValidators {
  if (!validators) {
    const schemaText = readFileSync(mappingSchemaPath, 'utf8');
    const schema = JSON.parse(schemaText) as Record<string, unknown>;
    const ready = precompiledValidators(import.meta.url, precompiledValidatorsFile, schemaText, ['mapping', 'library']);
    if (ready) {
      validators = { schema, mapping: ready.mapping, library: ready.library };
    } else {
      const ajv = new Ajv(schemaAjvOptions);
      const mapping = ajv.compile(schema);
      const library = ajv.getSchema(libraryRef(schema));
      if (!library) {
        throw new Error('mapping schema has no #/definitions/library');
      }
      validators = { schema, mapping, library };
    }
  }
  return validators;
}

/** The mapping JSON Schema as an object (for tools that want to register it). */
export const mappingSchema = (): Readonly<Record<string, unknown>> => getValidators().schema;

/**
 * Checks a parsed mapping (or an imported library file) against the schema and turns every schema
 * error into a MAP_SCHEMA diagnostic pointing at the YAML node concerned.
 */
export function checkAgainstSchema(
  value: unknown,
  doc: Document,
  spans: YamlSpans,
  kind: 'mapping' | 'library',
): Diagnostic[] {
  const v = getValidators();
  const validate = kind === 'mapping' ? v.mapping : v.library;
  if (validate(value)) {
    return [];
  }
  return reduceErrors(validate.errors ?? []).map((error) => toDiagnostic(error, doc, spans, v.schema));
}

/** Drops the noise ajv produces for oneOf branches when a more specific error exists at the same place. */
function reduceErrors(errors: readonly ErrorObject[]): ErrorObject[] {
  const kept = distinctSchemaErrors(errors, (error) => error.keyword === 'oneOf' || error.keyword === 'if');
  // A type error on a oneOf branch is only meaningful when no sibling branch error says more.
  return kept.filter((e, _, all) => !(e.keyword === 'type' && all.some((o) => o !== e && o.instancePath === e.instancePath && o.keyword !== 'type')));
}

function toDiagnostic(error: ErrorObject, doc: Document, spans: YamlSpans, schema: Record<string, unknown>): Diagnostic {
  const segments = error.instancePath === '' ? [] : error.instancePath.slice(1).split('/').map(unescapePointer);
  const where = yamlPathOf(segments) || 'the top level';
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const allowed = allowedKeys(error.parentSchema);
      const suggestion = closest(key, allowed);
      return {
        code: 'MAP_SCHEMA',
        severity: 'error',
        message: `Unknown key '${key}' in ${where}.`,
        hint: suggestion ? `Did you mean '${suggestion}'? Allowed keys: ${allowed.join(', ')}.` : `Allowed keys: ${allowed.join(', ')}.`,
        rule: spans.ofNode(nodeAtPath(doc, segments, key), { yamlPath: yamlPathOf([...segments, key]) }),
      };
    }
    case 'required': {
      const missing = String(params.missingProperty);
      return {
        code: 'MAP_SCHEMA',
        severity: 'error',
        message: `Missing required key '${missing}' in ${where}.`,
        hint: describeProperty(error.parentSchema, missing, schema) ?? `Add '${missing}:'.`,
        rule: spans.ofNode(nodeAtPath(doc, segments), { yamlPath: where }),
      };
    }
    case 'not':
      return {
        code: 'MAP_SCHEMA',
        severity: 'error',
        message: 'A mapping builds either FHIR bundles (`bundle:` and `resources:`) or, with `target: cqi-case`, one document per record (`document:`), not both.',
        hint: 'Remove the sections that do not belong to the target, or set `target:`.',
        rule: spans.ofNode(nodeAtPath(doc, segments), { yamlPath: where }),
      };
    case 'enum':
      return {
        code: 'MAP_SCHEMA',
        severity: 'error',
        message: `${where} must be one of ${(params.allowedValues as unknown[]).map((x) => JSON.stringify(x)).join(', ')}.`,
        rule: spans.ofNode(nodeAtPath(doc, segments), { yamlPath: where }),
      };
    case 'const':
      return {
        code: segments.length === 1 && segments[0] === 'cadmap' ? 'MAP_VERSION' : 'MAP_SCHEMA',
        severity: 'error',
        message:
          segments[0] === 'cadmap' && segments.length === 1
            ? `This cadmap understands mapping language version 1; the mapping declares ${JSON.stringify(nodeValue(doc, segments))}.`
            : `${where} must be ${JSON.stringify(params.allowedValue)}.`,
        ...(segments[0] === 'cadmap' ? { hint: 'Write `cadmap: 1` or upgrade cadmap.' } : {}),
        rule: spans.ofNode(nodeAtPath(doc, segments), { yamlPath: where }),
      };
    case 'pattern': {
      const pattern = String(params.pattern);
      const hint = pattern === '^=' ? 'Expressions start with "=", e.g. `=IncidentId`.' : describeSchemaAt(error.parentSchema);
      return {
        code: 'MAP_SCHEMA',
        severity: 'error',
        message: `${where} ${JSON.stringify(nodeValue(doc, segments))} does not match ${pattern}.`,
        ...(hint !== undefined ? { hint } : {}),
        rule: spans.ofNode(nodeAtPath(doc, segments), { yamlPath: where }),
      };
    }
    default: {
      const hint = describeSchemaAt(error.parentSchema);
      return {
        code: 'MAP_SCHEMA',
        severity: 'error',
        message: `${where} ${error.message ?? 'is not valid'}.`,
        ...(hint !== undefined ? { hint } : {}),
        rule: spans.ofNode(nodeAtPath(doc, segments), { yamlPath: where }),
      };
    }
  }
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

function nodeValue(doc: Document, segments: readonly string[]): unknown {
  const node = doc.getIn(segments, false);
  return node;
}

function allowedKeys(parentSchema: unknown): string[] {
  const properties = (parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return properties ? Object.keys(properties) : [];
}

function describeSchemaAt(parentSchema: unknown): string | undefined {
  const description = (parentSchema as { description?: unknown } | undefined)?.description;
  return typeof description === 'string' ? description : undefined;
}

function describeProperty(parentSchema: unknown, property: string, root: Record<string, unknown>): string | undefined {
  let propertySchema = (parentSchema as { properties?: Record<string, { description?: string; $ref?: string }> } | undefined)
    ?.properties?.[property];
  if (propertySchema?.$ref?.startsWith('#/definitions/')) {
    const definitions = root.definitions as Record<string, { description?: string }>;
    propertySchema = definitions[propertySchema.$ref.slice('#/definitions/'.length)] ?? propertySchema;
  }
  return propertySchema?.description ? `${property}: ${propertySchema.description}` : undefined;
}
