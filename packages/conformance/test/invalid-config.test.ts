import { deriveInvalidConfig } from '@tributary/conformance';

describe('deriveInvalidConfig', () => {
  it('adds an unknown setting when the schema forbids additional properties', () => {
    const example = deriveInvalidConfig({ type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false }, { a: 'x' });
    expect(example).toEqual({ config: { a: 'x', conformanceUnknownSetting: true }, problem: "an unknown setting 'conformanceUnknownSetting'" });
  });

  it('gives a declared setting a value of the wrong type otherwise', () => {
    expect(deriveInvalidConfig({ type: 'object', properties: { retries: { type: 'integer' } } })?.config).toEqual({ retries: 'not-a-number' });
    expect(deriveInvalidConfig({ type: 'object', properties: { label: { type: 'string' } } })?.config).toEqual({ label: 12345 });
  });

  it('leaves out a required setting when no setting has a type', () => {
    expect(deriveInvalidConfig({ type: 'object', required: ['token'] }, { token: 't', other: 1 })?.config).toEqual({ other: 1 });
  });

  it('finds nothing when the schema accepts any object', () => {
    expect(deriveInvalidConfig({ type: 'object' })).toBeUndefined();
    expect(deriveInvalidConfig(undefined)).toBeUndefined();
  });
});
