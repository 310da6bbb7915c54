package main

// The blob drivers chartd can open, registered here rather than in storage
// so that a build links only the cloud SDKs its operator needs: build tags
// nos3, nogcs and noazure leave a driver out (the GCS SDK alone is about a
// quarter of the binary). Local files and memory are always in.
import (
	_ "gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/memblob"
)
