-- +goose Up
-- Times are Unix nanoseconds (INTEGER) in both dialects: exact, portable, and
-- cheap to compare in GC queries.

CREATE TABLE tenants (
	id         INTEGER PRIMARY KEY,
	path       TEXT    NOT NULL UNIQUE,
	generation INTEGER NOT NULL DEFAULT 0
);

-- Global and deduplicated: one row per stored object, whatever number of
-- tenants use it. Every reference below has a foreign key to it, so the
-- database itself refuses to delete a referenced blob (GC relies on this).
CREATE TABLE blobs (
	digest  TEXT    PRIMARY KEY,
	size    INTEGER NOT NULL,
	created INTEGER NOT NULL
);
CREATE INDEX blobs_created ON blobs (created);

CREATE TABLE repositories (
	id        INTEGER PRIMARY KEY,
	tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	name      TEXT    NOT NULL,
	UNIQUE (tenant_id, name)
);

CREATE TABLE repo_blobs (
	repository_id INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
	digest        TEXT    NOT NULL REFERENCES blobs (digest),
	-- Refreshed by every push and by every manifest that relies on the link,
	-- so GC only drops links that nothing has used for the grace period.
	created       INTEGER NOT NULL,
	PRIMARY KEY (repository_id, digest)
);
CREATE INDEX repo_blobs_digest ON repo_blobs (digest);

CREATE TABLE manifests (
	repository_id     INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
	digest            TEXT    NOT NULL REFERENCES blobs (digest),
	size              INTEGER NOT NULL,
	media_type        TEXT    NOT NULL,
	artifact_type     TEXT    NOT NULL DEFAULT '',
	subject           TEXT    NOT NULL DEFAULT '',
	config_digest     TEXT    NOT NULL DEFAULT '',
	config_media_type TEXT    NOT NULL DEFAULT '',
	annotations       TEXT    NOT NULL DEFAULT '{}',
	created           INTEGER NOT NULL,
	PRIMARY KEY (repository_id, digest)
);
CREATE INDEX manifests_digest ON manifests (digest);
CREATE INDEX manifests_subject ON manifests (repository_id, subject);

-- What a manifest points at: blobs (config, layers; kind 'b') and child
-- manifests of an index (kind 'm'). GC walks it; the foreign key to blobs
-- keeps every referenced object alive.
--
-- manifest_refs and tags deliberately have no composite foreign key to
-- manifests: PostgreSQL caches the plan of a foreign-key check per session,
-- and a plan made while manifests was small (a sequential scan) made every
-- insert cost grow with the table until autovacuum re-analysed it. Rows are
-- deleted with their manifest by deleteManifest, in the same transaction.
CREATE TABLE manifest_refs (
	repository_id   INTEGER NOT NULL,
	manifest_digest TEXT    NOT NULL,
	digest          TEXT    NOT NULL REFERENCES blobs (digest),
	kind            TEXT    NOT NULL,
	PRIMARY KEY (repository_id, manifest_digest, digest, kind)
);
CREATE INDEX manifest_refs_digest ON manifest_refs (digest);
CREATE INDEX manifest_refs_child ON manifest_refs (repository_id, digest, kind);

CREATE TABLE tags (
	repository_id   INTEGER NOT NULL,
	name            TEXT    NOT NULL,
	manifest_digest TEXT    NOT NULL,
	PRIMARY KEY (repository_id, name)
);
CREATE INDEX tags_manifest ON tags (repository_id, manifest_digest);

CREATE TABLE chart_versions (
	tenant_id          INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	name               TEXT    NOT NULL,
	version            TEXT    NOT NULL,
	digest             TEXT    NOT NULL REFERENCES blobs (digest),
	size               INTEGER NOT NULL,
	prov_digest        TEXT    REFERENCES blobs (digest),
	prov_size          INTEGER NOT NULL DEFAULT 0,
	metadata           TEXT    NOT NULL,
	created            INTEGER NOT NULL,
	signer             TEXT    NOT NULL DEFAULT '',
	signer_fingerprint TEXT    NOT NULL DEFAULT '',
	server_signed      INTEGER NOT NULL DEFAULT 0,
	manifest_digest    TEXT    REFERENCES blobs (digest),
	manifest_size      INTEGER NOT NULL DEFAULT 0,
	config_digest      TEXT    REFERENCES blobs (digest),
	config_size        INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id, name, version)
);
CREATE INDEX chart_versions_digest ON chart_versions (digest);
CREATE INDEX chart_versions_prov ON chart_versions (prov_digest);
CREATE INDEX chart_versions_manifest ON chart_versions (manifest_digest);
CREATE INDEX chart_versions_config ON chart_versions (config_digest);

CREATE TABLE uploads (
	id            TEXT    PRIMARY KEY,
	repository_id INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
	byte_offset   INTEGER NOT NULL DEFAULT 0,
	parts         INTEGER NOT NULL DEFAULT 0,
	started       INTEGER NOT NULL,
	updated       INTEGER NOT NULL
);
CREATE INDEX uploads_updated ON uploads (updated);

CREATE TABLE keys (
	tenant_id   INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	fingerprint TEXT    NOT NULL,
	armored     TEXT    NOT NULL,
	created     INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, fingerprint)
);

-- +goose Down
DROP TABLE keys;
DROP TABLE uploads;
DROP TABLE chart_versions;
DROP TABLE tags;
DROP TABLE manifest_refs;
DROP TABLE manifests;
DROP TABLE repo_blobs;
DROP TABLE repositories;
DROP TABLE blobs;
DROP TABLE tenants;
