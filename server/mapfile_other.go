//go:build !unix

package server

import "os"

// mapFile reads the file: without mmap, a rebuild copies the previous
// index's bytes.
func mapFile(name string) ([]byte, func(), error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, nil, err
	}
	return b, func() {}, nil
}
