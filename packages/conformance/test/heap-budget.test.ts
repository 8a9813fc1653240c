import { createHash } from 'node:crypto';
import { checkHeapBounded, createConformanceContext } from '@tributary/conformance';
import { fileImporter } from '@tributary/importer-file';

// Rule heap-bounded against the bundled file importer, which streams. (Both examples opt in in their
// own conformance tests; the broken variant that buffers everything, and the kit's well-behaved
// simple-index importer, are in broken-variants.test.ts.)

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A PULP_MANIFEST of `units` files (the files themselves are not needed: the heap sync is on_demand). */
function largeFileRepository(units: number) {
  const lines: string[] = [];
  for (let i = 0; i < units; i++) lines.push(`dir-${i % 97}/file-${i}.bin,${sha256(`file ${i}`)},${1000 + i}`);
  return { files: { PULP_MANIFEST: `${lines.join('\n')}\n` } };
}

describe('rule heap-bounded', () => {
  it('the bundled file importer (PULP_MANIFEST)', async () => {
    const ctx = createConformanceContext({
      plugin: fileImporter,
      fixtures: { feedPath: 'PULP_MANIFEST', initial: largeFileRepository(3), changed: largeFileRepository(4) },
      heapBudget: { fixture: largeFileRepository, maxGrowthMiB: 28 },
    });
    await checkHeapBounded(ctx);
  });

  it('without heapBudget the rule is not checked, and says how to opt in', async () => {
    await expect(checkHeapBounded(createConformanceContext({ plugin: fileImporter, fixtures: { feedPath: 'PULP_MANIFEST', initial: largeFileRepository(3), changed: largeFileRepository(4) } }))).rejects.toMatchObject({ rule: 'heap-bounded', why: expect.stringMatching(/not checked: no heapBudget given/) });
  });
});
