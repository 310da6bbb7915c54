-- +goose Up
-- GC's first two steps select manifests and repository links by age
-- (created < cutoff); without an index each pass reads both tables whole.
-- Expand-only (README, "Upgrades"); on SQLite one transaction.
CREATE INDEX IF NOT EXISTS repo_blobs_created ON repo_blobs (created);
CREATE INDEX IF NOT EXISTS manifests_created ON manifests (created);

-- +goose Down
DROP INDEX IF EXISTS repo_blobs_created;
DROP INDEX IF EXISTS manifests_created;
