-- +goose Up
-- Each accepted chunk of an upload names the object its attempt wrote
-- (space-separated part IDs, in order), so two PATCHes racing for one
-- offset write two objects and the offset's compare-and-swap picks one.
-- Sessions in flight stored their parts under numbered keys: they are
-- expired, so the cleanup removes them (every object under the session's
-- prefix) and their clients start again.
ALTER TABLE uploads ADD COLUMN part_ids TEXT NOT NULL DEFAULT '';
UPDATE uploads SET updated = 0 WHERE parts > 0;

-- +goose Down
ALTER TABLE uploads DROP COLUMN part_ids;
