import { createHash } from 'node:crypto';
import path from 'node:path';
import { describeImporterConformance } from '@tributary/conformance';
import { notesImporter } from '../src/index.js';

/** A notes.json listing `units` notes, for the heap budget (its sync is on_demand: the note files are not needed). */
function largeNotes(units: number) {
  const notes = Array.from({ length: units }, (_, i) => ({
    name: `note-${i}`,
    title: `Note number ${i}`,
    file: `notes/note-${i}.md`,
    sha256: createHash('sha256').update(`note ${i}`).digest('hex'),
    size: 10 + (i % 50),
  }));
  return { files: { 'notes.json': JSON.stringify({ notes }) } };
}

describeImporterConformance({
  plugin: notesImporter,
  fixtures: {
    initial: { root: path.join(__dirname, 'fixtures', 'initial') },
    changed: { root: path.join(__dirname, 'fixtures', 'changed') },
  },
  // rule heap-bounded: a sync of 10,000 notes grows the live heap by ~5 MiB; buffering them would not fit
  heapBudget: { fixture: largeNotes, maxGrowthMiB: 28 },
});
