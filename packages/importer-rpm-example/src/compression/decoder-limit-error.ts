/**
 * A decoder refused input that would need more memory than it allows (an xz dictionary, a zstd
 * window): readDecompressed reports it as TRIBUTARY_ERR_DECOMPRESSION_LIMIT, not as corrupt data.
 */
export class DecoderLimitError extends Error {
  override readonly name = 'DecoderLimitError';
}
