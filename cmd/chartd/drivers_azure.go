//go:build !noazure

package main

import _ "gocloud.dev/blob/azureblob" // azblob:// (and --storage=microsoft)
