-- +goose Up
-- The store this database describes: 'store_id' (checked at every start
-- against the identity recorded in the bucket) and 'journal_next' (the
-- number of the next metadata journal entry written to the bucket).
CREATE TABLE store_meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

-- Keys whose rows a transaction changed, written by the triggers below in
-- that same transaction, so no write path can forget one and a crash
-- between a commit and its journal entry loses nothing: the rows wait here
-- until their states are in the bucket's journal (storage/sqldb/journal.go).
-- kind: 'c' chart version (a = tenant, b = name, c = version),
-- 'm' manifest (a = repository, b = digest), 't' tag (a = repository,
-- b = tag), 'k' key (a = tenant, b = fingerprint).
CREATE TABLE journal_outbox (
	seq  INTEGER PRIMARY KEY AUTOINCREMENT,
	kind TEXT    NOT NULL,
	a    INTEGER NOT NULL,
	b    TEXT    NOT NULL,
	c    TEXT    NOT NULL DEFAULT ''
);

-- +goose StatementBegin
CREATE TRIGGER journal_chart_insert AFTER INSERT ON chart_versions BEGIN
	INSERT INTO journal_outbox (kind, a, b, c) VALUES ('c', NEW.tenant_id, NEW.name, NEW.version);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER journal_chart_update AFTER UPDATE ON chart_versions BEGIN
	INSERT INTO journal_outbox (kind, a, b, c) VALUES ('c', NEW.tenant_id, NEW.name, NEW.version);
	INSERT INTO journal_outbox (kind, a, b, c) SELECT 'c', OLD.tenant_id, OLD.name, OLD.version
		WHERE OLD.tenant_id <> NEW.tenant_id OR OLD.name <> NEW.name OR OLD.version <> NEW.version;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER journal_chart_delete AFTER DELETE ON chart_versions BEGIN
	INSERT INTO journal_outbox (kind, a, b, c) VALUES ('c', OLD.tenant_id, OLD.name, OLD.version);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER journal_manifest_insert AFTER INSERT ON manifests BEGIN
	INSERT INTO journal_outbox (kind, a, b) VALUES ('m', NEW.repository_id, NEW.digest);
END;
-- +goose StatementEnd
-- An upsert that only renews 'created' (GC's clock) is no change worth a
-- journal entry: the trigger watches the other columns.
-- +goose StatementBegin
CREATE TRIGGER journal_manifest_update AFTER UPDATE OF repository_id, digest, size, media_type, artifact_type,
	subject, config_digest, config_media_type, annotations ON manifests BEGIN
	INSERT INTO journal_outbox (kind, a, b) VALUES ('m', NEW.repository_id, NEW.digest);
	INSERT INTO journal_outbox (kind, a, b) SELECT 'm', OLD.repository_id, OLD.digest
		WHERE OLD.repository_id <> NEW.repository_id OR OLD.digest <> NEW.digest;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER journal_manifest_delete AFTER DELETE ON manifests BEGIN
	INSERT INTO journal_outbox (kind, a, b) VALUES ('m', OLD.repository_id, OLD.digest);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER journal_tag_insert AFTER INSERT ON tags BEGIN
	INSERT INTO journal_outbox (kind, a, b) VALUES ('t', NEW.repository_id, NEW.name);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER journal_tag_update AFTER UPDATE ON tags BEGIN
	INSERT INTO journal_outbox (kind, a, b) VALUES ('t', NEW.repository_id, NEW.name);
	INSERT INTO journal_outbox (kind, a, b) SELECT 't', OLD.repository_id, OLD.name
		WHERE OLD.repository_id <> NEW.repository_id OR OLD.name <> NEW.name;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER journal_tag_delete AFTER DELETE ON tags BEGIN
	INSERT INTO journal_outbox (kind, a, b) VALUES ('t', OLD.repository_id, OLD.name);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER journal_key_insert AFTER INSERT ON keys BEGIN
	INSERT INTO journal_outbox (kind, a, b) VALUES ('k', NEW.tenant_id, NEW.fingerprint);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER journal_key_update AFTER UPDATE ON keys BEGIN
	INSERT INTO journal_outbox (kind, a, b) VALUES ('k', NEW.tenant_id, NEW.fingerprint);
	INSERT INTO journal_outbox (kind, a, b) SELECT 'k', OLD.tenant_id, OLD.fingerprint
		WHERE OLD.tenant_id <> NEW.tenant_id OR OLD.fingerprint <> NEW.fingerprint;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER journal_key_delete AFTER DELETE ON keys BEGIN
	INSERT INTO journal_outbox (kind, a, b) VALUES ('k', OLD.tenant_id, OLD.fingerprint);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER journal_key_delete;
DROP TRIGGER journal_key_update;
DROP TRIGGER journal_key_insert;
DROP TRIGGER journal_tag_delete;
DROP TRIGGER journal_tag_update;
DROP TRIGGER journal_tag_insert;
DROP TRIGGER journal_manifest_delete;
DROP TRIGGER journal_manifest_update;
DROP TRIGGER journal_manifest_insert;
DROP TRIGGER journal_chart_delete;
DROP TRIGGER journal_chart_update;
DROP TRIGGER journal_chart_insert;
DROP TABLE journal_outbox;
DROP TABLE store_meta;
