// Package charttest builds chart archives for tests: valid ones shaped like
// `helm package` output, and deliberately broken ones.
package charttest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"sort"
	"time"
)

// Entry is one tar entry; Typeflag 0 means a regular file.
type Entry struct {
	Name     string
	Body     string
	Typeflag byte
	Linkname string
}

// Archive gzips a tar of entries in the given order.
func Archive(entries ...Entry) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Mode: 0o644, Size: int64(len(e.Body)), ModTime: time.Unix(0, 0),
			Typeflag: e.Typeflag, Linkname: e.Linkname}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			panic(err) // a test fixture bug, not input
		}
		if h.Typeflag == tar.TypeReg {
			_, _ = tw.Write([]byte(e.Body))
		}
	}
	_ = tw.Close()
	_ = zw.Close()
	return buf.Bytes()
}

// Chart returns a valid chart archive <name>/{Chart.yaml,values.yaml,templates/...}
// with extra files (relative to the chart root) added in sorted order.
func Chart(name, version string, extra map[string]string) []byte {
	files := map[string]string{
		"Chart.yaml":               fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\ndescription: A test chart\nappVersion: \"1.0\"\n", name, version),
		"values.yaml":              "replicas: 1\nimage: nginx\n",
		"templates/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  image: {{ .Values.image }}\n",
	}
	for k, v := range extra {
		files[k] = v
	}
	names := make([]string, 0, len(files))
	for k := range files {
		names = append(names, k)
	}
	sort.Strings(names)
	entries := make([]Entry, 0, len(names))
	for _, n := range names {
		entries = append(entries, Entry{Name: name + "/" + n, Body: files[n]})
	}
	return Archive(entries...)
}
