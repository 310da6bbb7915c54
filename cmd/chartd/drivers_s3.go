//go:build !nos3

package main

import _ "gocloud.dev/blob/s3blob" // s3:// (and --storage=amazon)
