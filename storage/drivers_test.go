package storage

// chartd registers its blob drivers in cmd/chartd; the tests open local and
// in-memory buckets themselves.
import (
	_ "gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/memblob"
)
