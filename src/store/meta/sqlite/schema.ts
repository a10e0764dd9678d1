import type Database from 'better-sqlite3';

export const SCHEMA_VERSION = 2;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS projects (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  meta TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS role_assignments (
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role TEXT NOT NULL,
  PRIMARY KEY (project_id, user_id)
);
CREATE TABLE IF NOT EXISTS access_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  secret_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  UNIQUE (user_id, name)
);
CREATE TABLE IF NOT EXISTS buckets (
  name TEXT PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES projects(id),
  type TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  object_count INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  public_read INTEGER NOT NULL DEFAULT 0,
  public_read_allow_ips TEXT NOT NULL DEFAULT '[]',
  encryption TEXT,
  meta TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS buckets_by_project ON buckets (project_id, name);
CREATE TABLE IF NOT EXISTS objects (
  bucket TEXT NOT NULL REFERENCES buckets(name),
  key TEXT NOT NULL,
  blob_id TEXT NOT NULL,
  size INTEGER NOT NULL,
  etag TEXT NOT NULL,
  content_type TEXT NOT NULL,
  last_modified INTEGER NOT NULL,
  meta TEXT NOT NULL,
  headers TEXT NOT NULL,
  delete_at INTEGER,
  encryption TEXT,
  inline_id INTEGER,
  PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
-- Small objects' bytes, kept apart so that the object index stays compact for scans.
CREATE TABLE IF NOT EXISTS inline_data (
  id INTEGER PRIMARY KEY,
  data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS objects_by_blob ON objects (blob_id);
CREATE INDEX IF NOT EXISTS objects_by_expiry ON objects (delete_at) WHERE delete_at IS NOT NULL;
`;

/** Creates the schema, or brings an older one up to date. */
export function migrate(db: Database.Database): void {
  const version = Number(db.pragma('user_version', { simple: true }));
  db.exec(SCHEMA);
  if (version === 1) db.exec('ALTER TABLE objects ADD COLUMN inline_id INTEGER');
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
}
