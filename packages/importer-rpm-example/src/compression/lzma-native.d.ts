// The subset of lzma-native (no maintained typings for v8) that the importer uses.
declare module 'lzma-native' {
  import type { Duplex, TransformOptions } from 'node:stream';
  export function createDecompressor(options?: TransformOptions & { memlimit?: number; synchronous?: boolean; bufsize?: number }): Duplex;
}
