import { ErrorCodes, errorData, errorFromData, isTributaryError, TributaryError, type ErrorData } from '@tributary/plugin-api';

/** What crossing to another thread does to the data. */
const crossed = (data: ErrorData): ErrorData => structuredClone(data);

describe('errorData / errorFromData', () => {
  test('a TributaryError comes back with its code, message, details and the stack where it was thrown', () => {
    const original = new TributaryError(ErrorCodes.XML_INVALID, 'primary, line 7: bad tag', { details: { source: 'primary', line: 7 } });
    const back = errorFromData(crossed(errorData(original)));
    expect(isTributaryError(back, ErrorCodes.XML_INVALID)).toBe(true);
    expect(back.message).toBe('primary, line 7: bad tag');
    expect((back as TributaryError).details).toEqual({ source: 'primary', line: 7 });
    expect(back.stack).toBe(original.stack);
  });

  test('an error of no known code is a plain Error of its name, or the fallback code when one is given', () => {
    const data = crossed(errorData(new RangeError('out of range')));
    const plain = errorFromData(data);
    expect(isTributaryError(plain)).toBe(false);
    expect([plain.name, plain.message]).toEqual(['RangeError', 'out of range']);
    const typed = errorFromData(data, ErrorCodes.STORE);
    expect(isTributaryError(typed, ErrorCodes.STORE)).toBe(true);
    expect(typed.message).toBe('out of range');
    // a code this copy of plugin-api does not know counts as none
    expect(isTributaryError(errorFromData({ name: 'TributaryError', message: 'm', code: 'TRIBUTARY_ERR_FUTURE' as never }, ErrorCodes.STORE), ErrorCodes.STORE)).toBe(true);
  });

  test('a thrown value that is no Error keeps its text', () => {
    expect(errorData('just a string')).toEqual({ name: 'Error', message: 'just a string' });
    expect(errorFromData(errorData(42)).message).toBe('42');
  });
});
