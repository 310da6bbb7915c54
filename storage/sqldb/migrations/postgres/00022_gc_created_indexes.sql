-- +goose NO TRANSACTION
-- +goose Up
-- GC's first two steps select manifests and repository links by age
-- (created < cutoff); without an index each pass reads both tables whole.
--
-- An expand-only migration (README, "Upgrades"): it adds, and changes
-- nothing replicas of the previous version read or write, so they keep
-- serving while the first replica of this version runs it. CONCURRENTLY
-- builds the index without blocking their writes; it cannot run in a
-- transaction, so a replica killed half way leaves an invalid index and
-- no goose record. The DROP makes the rerun at its next start rebuild it.
DROP INDEX CONCURRENTLY IF EXISTS repo_blobs_created;
CREATE INDEX CONCURRENTLY repo_blobs_created ON repo_blobs (created);
DROP INDEX CONCURRENTLY IF EXISTS manifests_created;
CREATE INDEX CONCURRENTLY manifests_created ON manifests (created);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS repo_blobs_created;
DROP INDEX CONCURRENTLY IF EXISTS manifests_created;
