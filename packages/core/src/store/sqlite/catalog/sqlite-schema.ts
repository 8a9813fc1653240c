import type { Database } from 'better-sqlite3';

/** `version_removed` of a repository-content row whose unit is still in the repository. */
export const STILL_PRESENT = Number.MAX_SAFE_INTEGER;

/**
 * Schema migrations of the embedded catalog, applied in order. `PRAGMA user_version` records how
 * many have run, so opening an older file upgrades it and opening a current one does nothing.
 * Never edit a migration that has shipped: append a new one.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE repositories (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    latest_version INTEGER NOT NULL DEFAULT 0,
    -- bumped by every beginVersion; "seen" marks carry it, so a crashed attempt's marks are stale
    write_generation INTEGER NOT NULL DEFAULT 0,
    importer TEXT,
    feed_url TEXT,
    config TEXT,
    description TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );

  -- rowid table: metadata can be kilobytes, too big to live in a WITHOUT ROWID b-tree
  CREATE TABLE units (
    id INTEGER PRIMARY KEY,
    unit_id TEXT NOT NULL UNIQUE,
    type_id TEXT NOT NULL,
    key TEXT NOT NULL,
    metadata TEXT NOT NULL
  );

  CREATE TABLE artifacts (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    md5 TEXT,
    sha1 TEXT,
    sha224 TEXT,
    sha384 TEXT,
    sha512 TEXT
  ) WITHOUT ROWID;
  CREATE INDEX artifacts_md5 ON artifacts (md5) WHERE md5 IS NOT NULL;
  CREATE INDEX artifacts_sha1 ON artifacts (sha1) WHERE sha1 IS NOT NULL;
  CREATE INDEX artifacts_sha224 ON artifacts (sha224) WHERE sha224 IS NOT NULL;
  CREATE INDEX artifacts_sha384 ON artifacts (sha384) WHERE sha384 IS NOT NULL;
  CREATE INDEX artifacts_sha512 ON artifacts (sha512) WHERE sha512 IS NOT NULL;

  -- rowid tables with a unique index: rows are appended in insertion order and only the (small)
  -- index entries land at random places, instead of whole rows keyed by random unit ids
  CREATE TABLE unit_artifacts (
    id INTEGER PRIMARY KEY,
    unit_id TEXT NOT NULL,
    relative_path TEXT NOT NULL,
    sha256 TEXT
  );
  CREATE UNIQUE INDEX unit_artifacts_key ON unit_artifacts (unit_id, relative_path);

  CREATE TABLE remote_artifacts (
    id INTEGER PRIMARY KEY,
    unit_id TEXT NOT NULL,
    relative_path TEXT NOT NULL,
    remote TEXT NOT NULL,
    urls TEXT NOT NULL,
    size INTEGER,
    digests TEXT NOT NULL
  );
  CREATE UNIQUE INDEX remote_artifacts_key ON remote_artifacts (unit_id, relative_path, remote);

  -- One row per stretch of versions a unit spends in a repository. version_removed is
  -- ${STILL_PRESENT} while the unit is still there (not NULL, so the unique key admits exactly
  -- one present row per unit, and one removed row per version). The unique key's order is the
  -- listing order (type, unit id) and also the lookup of associate/unassociate. A rowid table,
  -- because the version indexes then grow at their end instead of at random places.
  CREATE TABLE repository_content (
    id INTEGER PRIMARY KEY,
    repo_id TEXT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    type_id TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    version_removed INTEGER NOT NULL,
    version_added INTEGER NOT NULL,
    seen_generation INTEGER NOT NULL,
    origin TEXT NOT NULL CHECK (origin IN ('sync', 'user'))
  );
  CREATE UNIQUE INDEX repository_content_key
    ON repository_content (repo_id, type_id, unit_id, version_removed);
  -- rolling back a version
  CREATE INDEX repository_content_added ON repository_content (repo_id, version_added);
  CREATE INDEX repository_content_removed ON repository_content (repo_id, version_removed)
    WHERE version_removed <> ${STILL_PRESENT};

  CREATE TABLE sync_history (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    repo_id TEXT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    importer TEXT NOT NULL,
    settings_hash TEXT NOT NULL,
    version INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    status TEXT NOT NULL,
    finished_at TEXT,
    report TEXT,
    error TEXT,
    fingerprint TEXT,
    result_version INTEGER
  );
  CREATE INDEX sync_history_repo ON sync_history (repo_id, started_at);
  CREATE INDEX sync_history_fingerprint ON sync_history (repo_id, settings_hash, status, started_at);

  CREATE TABLE leases (
    repo_id TEXT PRIMARY KEY REFERENCES repositories (id) ON DELETE CASCADE,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  );
  `,
  // 2: a unit's files and remote sources live in its own row, as JSON. A sync then writes one row
  // per unit instead of three rows in three tables, each with a randomly keyed unique index.
  `
  ALTER TABLE units ADD COLUMN artifacts TEXT NOT NULL DEFAULT '[]';
  ALTER TABLE units ADD COLUMN remotes TEXT;
  UPDATE units SET artifacts = (
    SELECT json_group_array(json_array(relative_path, sha256)) FROM (
      SELECT relative_path, sha256 FROM unit_artifacts ua WHERE ua.unit_id = units.unit_id ORDER BY relative_path))
  WHERE unit_id IN (SELECT unit_id FROM unit_artifacts);
  UPDATE units SET remotes = (
    SELECT json_group_array(json_array(relative_path, remote, json(urls), size, json(digests))) FROM (
      SELECT * FROM remote_artifacts ra WHERE ra.unit_id = units.unit_id ORDER BY relative_path, remote))
  WHERE unit_id IN (SELECT unit_id FROM remote_artifacts);
  DROP TABLE unit_artifacts;
  DROP TABLE remote_artifacts;
  `,
  // 3: repository content refers to its repository and its unit by integer (repositories.seq,
  // units.id) instead of by a 36-character UUID and a 40-character unit id. Every content row's
  // unique index entry shrinks from about 90 bytes to about 15: measured at 200,000 units, inserting
  // content rows got 2-3x cheaper, each group commit writes half the pages, and the file is 40% smaller.
  // Listing order within a type becomes the units' catalog order (units.id), which the unique index
  // gives for free.
  `
  ALTER TABLE repositories ADD COLUMN seq INTEGER;
  UPDATE repositories SET seq = rowid;
  CREATE UNIQUE INDEX repositories_seq ON repositories (seq);

  CREATE TABLE repository_content_3 (
    id INTEGER PRIMARY KEY,
    repo INTEGER NOT NULL,
    type_id TEXT NOT NULL,
    unit INTEGER NOT NULL,
    version_removed INTEGER NOT NULL,
    version_added INTEGER NOT NULL,
    seen_generation INTEGER NOT NULL,
    origin TEXT NOT NULL CHECK (origin IN ('sync', 'user'))
  );
  INSERT INTO repository_content_3 (id, repo, type_id, unit, version_removed, version_added, seen_generation, origin)
    SELECT rc.id, r.seq, rc.type_id, u.id, rc.version_removed, rc.version_added, rc.seen_generation, rc.origin
    FROM repository_content rc
      JOIN repositories r ON r.id = rc.repo_id
      JOIN units u ON u.unit_id = rc.unit_id
    ORDER BY rc.id;
  DROP TABLE repository_content;
  ALTER TABLE repository_content_3 RENAME TO repository_content;
  CREATE UNIQUE INDEX repository_content_key ON repository_content (repo, type_id, unit, version_removed);
  CREATE INDEX repository_content_added ON repository_content (repo, version_added);
  CREATE INDEX repository_content_removed ON repository_content (repo, version_removed)
    WHERE version_removed <> ${STILL_PRESENT};
  `,
  // 4: content provenance. Every write to a unit's row bumps its `rev`; a content row records the
  // digest of the upstream record a sync associated it from (`source_a/b/c`, 3 x 48 bits of a
  // sha256, see unit-fingerprint.ts) and the unit's `rev` then,
  // so a later sync meeting the same record knows the row is still what that record wrote.
  `
  ALTER TABLE units ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE repository_content ADD COLUMN source_a INTEGER;
  ALTER TABLE repository_content ADD COLUMN source_b INTEGER;
  ALTER TABLE repository_content ADD COLUMN source_c INTEGER;
  ALTER TABLE repository_content ADD COLUMN source_rev INTEGER;
  `,
  // 5: a committed version never changes. A content row pins the unit revision it shows
  // (`unit_rev`); writing a unit whose row some content row may show first copies the row's
  // (metadata, artifacts, remotes) into unit_revisions under its old `rev`. A row pinning the
  // unit's current `rev` reads the unit's row; any other reads its revision (see
  // sqlite-repo-unit-pages.ts). Existing rows pin the units' current revisions: what they show now
  // is all that can be recovered. A rowid table with a unique index, like units: a revision's
  // metadata can be kilobytes, too big for a WITHOUT ROWID b-tree.
  `
  CREATE TABLE unit_revisions (
    id INTEGER PRIMARY KEY,
    unit INTEGER NOT NULL,
    rev INTEGER NOT NULL,
    metadata TEXT NOT NULL,
    artifacts TEXT NOT NULL,
    remotes TEXT
  );
  CREATE UNIQUE INDEX unit_revisions_key ON unit_revisions (unit, rev);
  ALTER TABLE repository_content ADD COLUMN unit_rev INTEGER NOT NULL DEFAULT 0;
  UPDATE repository_content SET unit_rev = (SELECT rev FROM units WHERE units.id = repository_content.unit)
    WHERE unit IN (SELECT id FROM units WHERE rev <> 0);
  `,
  // 6: the download policy a sync that names none uses, remembered like importer, feed and config
  `
  ALTER TABLE repositories ADD COLUMN policy TEXT;
  `,
  // 7: publications (the file tree of one repository version as a publisher laid it out) and
  // distributions (a name and base path serving a repository). A publication is readable once
  // `completed_at` is set. Its entries refer to it by integer (publications.seq), like content rows
  // to their repository, and live in a rowid table with a unique index, like units: a publication
  // can have a million entries written in the publisher's order, so rows are appended and only the
  // small (publication, path) index entries land at random places; that index is also the look-up
  // by path and the listing in path order (BINARY: byte order of UTF-8, i.e. code-point order).
  // Distributions refer to their repository without a foreign key: deleting the repository keeps them.
  `
  CREATE TABLE publications (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    repo_id TEXT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    publisher_key TEXT NOT NULL,
    publisher TEXT NOT NULL,
    options TEXT NOT NULL,
    created_at TEXT NOT NULL,
    completed_at TEXT,
    files INTEGER,
    bytes INTEGER,
    conflicts INTEGER,
    info TEXT
  );
  CREATE INDEX publications_find ON publications (repo_id, publisher_key, version);

  CREATE TABLE publication_entries (
    id INTEGER PRIMARY KEY,
    publication INTEGER NOT NULL REFERENCES publications (seq) ON DELETE CASCADE,
    path TEXT NOT NULL COLLATE BINARY,
    kind TEXT NOT NULL CHECK (kind IN ('artifact', 'generated')),
    sha256 TEXT,
    size INTEGER,
    digests TEXT NOT NULL,
    urls TEXT NOT NULL,
    unit_id TEXT
  );
  CREATE UNIQUE INDEX publication_entries_key ON publication_entries (publication, path COLLATE BINARY);

  CREATE TABLE distributions (
    name TEXT PRIMARY KEY,
    base_path TEXT NOT NULL UNIQUE,
    repo_id TEXT NOT NULL,
    version INTEGER,
    publish_options TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  `,
  // 8: managing what a repository holds. `repository_versions` records what made each committed
  // version (kind, sync, counts, changes against its base) and marks deleted ones (`deleted_at`; a
  // version deleted without a record gets one of kind 'unknown'). `retain_versions` is the
  // repository's retention. `stored_at` (epoch ms of the last write; NULL before this migration,
  // which counts as old) is what orphan cleanup's protection time goes by. `catalog_leases` holds
  // leases that are not a repository's (orphan cleanup's).
  `
  ALTER TABLE repositories ADD COLUMN retain_versions INTEGER;
  ALTER TABLE units ADD COLUMN stored_at INTEGER;
  ALTER TABLE artifacts ADD COLUMN stored_at INTEGER;

  CREATE TABLE repository_versions (
    repo_id TEXT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    kind TEXT NOT NULL,
    sync_id TEXT,
    note TEXT,
    counts TEXT NOT NULL,
    base INTEGER,
    added TEXT NOT NULL,
    removed TEXT NOT NULL,
    deleted_at TEXT,
    PRIMARY KEY (repo_id, version)
  ) WITHOUT ROWID;

  CREATE TABLE catalog_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
];

/**
 * Brings the file's schema up to date (or up to migration `target`, which tests of upgrades use)
 * inside one transaction; idempotent.
 */
export function migrateSchema(db: Database, target = MIGRATIONS.length): void {
  // an up-to-date file needs no write lock: another connection may hold it (a store handing its
  // file over to its thread, with bulk writes pending)
  if ((db.pragma('user_version', { simple: true }) as number) >= target) return;
  db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    for (let index = current; index < target; index++) {
      db.exec(MIGRATIONS[index]!);
    }
    if (current < target) db.pragma(`user_version = ${target}`);
  }).immediate();
}
