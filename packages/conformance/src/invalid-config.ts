import type { JsonSchema } from '@tributary/plugin-api';

/** A config the plugin's schema must refuse, and what is wrong with it in words. */
export interface InvalidConfigExample {
  readonly config: Record<string, unknown>;
  readonly problem: string;
}

const WRONG_VALUE: Record<string, { value: unknown; words: string }> = {
  integer: { value: 'not-a-number', words: 'a string where an integer belongs' },
  number: { value: 'not-a-number', words: 'a string where a number belongs' },
  boolean: { value: 'not-a-boolean', words: 'a string where a boolean belongs' },
  string: { value: 12345, words: 'a number where a string belongs' },
  array: { value: 'not-an-array', words: 'a string where an array belongs' },
  object: { value: 'not-an-object', words: 'a string where an object belongs' },
};

/**
 * Derives a config the schema refuses from a valid one: an unknown setting when the schema forbids
 * additional properties, else a declared setting of the wrong type, else a required setting left
 * out. Undefined when the schema accepts anything.
 */
export function deriveInvalidConfig(schema: JsonSchema | undefined, valid: Record<string, unknown> = {}): InvalidConfigExample | undefined {
  if (!schema) return undefined;
  if (schema['additionalProperties'] === false) {
    return { config: { ...valid, conformanceUnknownSetting: true }, problem: "an unknown setting 'conformanceUnknownSetting'" };
  }
  const properties = (schema['properties'] ?? {}) as Record<string, Record<string, unknown>>;
  for (const [name, property] of Object.entries(properties)) {
    const type = property?.['type'];
    const wrong = typeof type === 'string' ? WRONG_VALUE[type] : undefined;
    if (wrong) return { config: { ...valid, [name]: wrong.value }, problem: `setting '${name}' given ${wrong.words}` };
  }
  const required = Array.isArray(schema['required']) ? (schema['required'] as string[]) : [];
  if (required.length > 0) {
    const rest = { ...valid };
    delete rest[required[0] as string];
    return { config: rest, problem: `required setting '${required[0]}' left out` };
  }
  return undefined;
}
