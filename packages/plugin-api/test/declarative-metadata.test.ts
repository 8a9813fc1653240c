import { canonicalJson, DeclarativeContent, ErrorCodes, isTributaryError } from '@tributary/plugin-api';

/** Metadata given as an object or as JSON text (`metadataJson`), and what reading or replacing it does. */

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return isTributaryError(error) ? error.code : `untyped ${String(error)}`;
  }
}

const key = { name: 'a' };

describe('DeclarativeContent metadata', () => {
  it('keeps metadata given as text as text until somebody reads it, then hands out the parsed object', () => {
    const text = canonicalJson({ size: 3, tags: ['x'] });
    const dc = new DeclarativeContent({ typeId: 't', key, metadataJson: text });
    expect(dc.metadataJson).toBe(text);
    expect(dc.metadata).toEqual({ size: 3, tags: ['x'] });
    // read once, the object is what counts from now on (a stage may change it)
    expect(dc.metadataJson).toBeUndefined();
    expect(dc.metadata).toBe(dc.metadata);
  });

  it('drops the text when a stage replaces the metadata', () => {
    const dc = new DeclarativeContent({ typeId: 't', key, metadataJson: '{"size":3}' });
    dc.metadata = { size: 4 };
    expect(dc.metadataJson).toBeUndefined();
    expect(dc.metadata).toEqual({ size: 4 });
  });

  it('has no text when given an object, and {} when given nothing', () => {
    expect(new DeclarativeContent({ typeId: 't', key, metadata: { a: 1 } }).metadataJson).toBeUndefined();
    expect(new DeclarativeContent({ typeId: 't', key }).metadata).toEqual({});
  });

  it('refuses both forms at once, and text that is not a string', () => {
    expect(codeOf(() => new DeclarativeContent({ typeId: 't', key, metadata: {}, metadataJson: '{}' }))).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(codeOf(() => new DeclarativeContent({ typeId: 't', key, metadataJson: {} as unknown as string }))).toBe(ErrorCodes.INVALID_ARGUMENT);
  });

  it.each(['{"size":', '[]', 'null', '"text"'])('reading text %s that is not a JSON object is TRIBUTARY_ERR_UNIT_METADATA_INVALID', (text) => {
    const dc = new DeclarativeContent({ typeId: 't', key, metadataJson: text });
    expect(codeOf(() => dc.metadata)).toBe(ErrorCodes.UNIT_METADATA_INVALID);
  });
});
