// The subset of lzma-native (no maintained typings for v8) that the importer uses.
declare module 'lzma-native' {
  import type { Duplex } from 'node:stream';
  export function createDecompressor(options?: { memlimit?: number; synchronous?: boolean }): Duplex;
}
