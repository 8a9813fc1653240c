import { DeclarativeContent, Stage, SyncFailedError, type DeclarativeContentInit, type SyncSettings } from '@tributary/plugin-api';
import { runPipeline } from '../../src/pipeline/index';
import { sha256Of } from './memory-fetcher';

/** A first stage that puts the given content, in order, as one batch (as an importer puts what it parsed). */
export class ListSource extends Stage {
  constructor(private readonly contents: readonly DeclarativeContent[]) {
    super('ListSource');
  }
  override async run(): Promise<void> {
    await this.putAll(this.contents);
  }
}

/** A last stage that keeps what reaches it. */
export class Collector extends Stage {
  readonly seen: DeclarativeContent[] = [];
  constructor() {
    super('Collector');
  }
  override async run(): Promise<void> {
    for await (const dc of this.items()) this.seen.push(dc);
  }
}

/** Runs `stage` between a source of `contents` and a collector; resolves with what came out. */
export async function throughStage(stage: Stage, contents: readonly DeclarativeContent[]): Promise<DeclarativeContent[]> {
  const collector = new Collector();
  await runPipeline({ stages: [new ListSource(contents), stage, collector], plugin: 'test', repository: 'r' });
  return collector.seen;
}

export function settings(overrides: Partial<SyncSettings> = {}): SyncSettings {
  return { url: 'http://upstream.test/repo/', policy: 'immediate', mirror: false, force: false, ...overrides };
}

/** A `file` unit whose single artifact is served at `http://upstream.test/repo/<name>`. */
export function fileContent(name: string, body: string, extra: Partial<DeclarativeContentInit> = {}): DeclarativeContent {
  const sha256 = sha256Of(body);
  return new DeclarativeContent({
    typeId: 'file',
    key: { relativePath: name, sha256 },
    metadata: { size: Buffer.byteLength(body) },
    artifacts: [{ url: `http://upstream.test/repo/${name}`, relativePath: name, size: Buffer.byteLength(body), digests: { sha256 } }],
    ...extra,
  });
}

/** The SyncFailedError a pipeline run rejects with; fails the test if it resolves. */
export async function failureOf(promise: Promise<unknown>): Promise<SyncFailedError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SyncFailedError);
    return error as SyncFailedError;
  }
  throw new Error('expected the pipeline to fail');
}
