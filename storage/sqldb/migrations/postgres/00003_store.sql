-- +goose Up
-- The store this database describes (key 'store_id'), checked at every
-- start against the identity recorded in the bucket. A shared database
-- keeps no journal in the bucket: it is itself the durable, shared truth.
CREATE TABLE store_meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

-- +goose Down
DROP TABLE store_meta;
