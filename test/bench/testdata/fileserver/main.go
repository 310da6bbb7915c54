// Command fileserver is the bare Go file server the index benchmark
// measures chartd against: net/http serving one file's bytes with a fixed
// ETag (http.ServeContent answers If-None-Match with 304), in a process of
// its own as chartd is. Given a gzip file too, it sends that to a client
// that accepts gzip, as a precompressing server would at no cost per
// request: the ceiling of any server that sends those bytes. It prints its
// address and serves until killed.
//
//	fileserver FILE ETAG [GZIP-FILE]
package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	if len(os.Args) != 3 && len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: fileserver FILE ETAG [GZIP-FILE]")
		os.Exit(2)
	}
	body, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var gz []byte
	if len(os.Args) == 4 {
		if gz, err = os.ReadFile(os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	etag := os.Args[2]
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	mod := time.Now()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "application/x-yaml")
		doc := body
		if gz != nil {
			w.Header().Set("Vary", "Accept-Encoding")
			if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
				w.Header().Set("Content-Encoding", "gzip")
				doc = gz
			}
		}
		http.ServeContent(w, r, "index.yaml", mod, bytes.NewReader(doc))
	})
	if err := http.Serve(ln, h); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
