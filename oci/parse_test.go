package oci

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestParseRange(t *testing.T) {
	tests := []struct {
		header        string
		size          int64
		start, length int64
		partial       bool
		err           error
	}{
		{"", 10, 0, 10, false, nil},
		{"bytes=0-0", 10, 0, 1, true, nil},
		{"bytes=3-", 10, 3, 7, true, nil},
		{"bytes=-4", 10, 6, 4, true, nil},
		{"bytes=-40", 10, 0, 10, true, nil},
		{"bytes=5-500", 10, 5, 5, true, nil},
		{"bytes=10-", 10, 0, 0, false, errRangeInvalid},
		{"bytes=-0", 10, 0, 0, false, errRangeInvalid},
		{"bytes=0-", 0, 0, 0, false, errRangeInvalid},
		{"bytes=-1", 0, 0, 0, false, nil}, // the whole empty blob, 200
		{"bytes=5-3", 10, 0, 0, false, errRangeInvalid},
		{"bytes=1-2,4-5", 10, 0, 10, false, nil},
		{"bytes=a-b", 10, 0, 10, false, nil},
		{"bytes=+1-2", 10, 0, 10, false, nil},
		{"bytes=99999999999999999999-", 10, 0, 10, false, nil},
		{"lines=1-2", 10, 0, 10, false, nil},
	}
	for _, tt := range tests {
		start, length, partial, err := parseRange(tt.header, tt.size)
		if !errors.Is(err, tt.err) || (err == nil && (start != tt.start || length != tt.length || partial != tt.partial)) {
			t.Errorf("parseRange(%q, %d) = %d %d %v %v; want %d %d %v %v", tt.header, tt.size, start, length, partial, err, tt.start, tt.length, tt.partial, tt.err)
		}
	}
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-0", "bytes=-5", "bytes=3-", "bytes=1-2,3-4", "bytes=9-1"} {
		f.Add(s, int64(10))
	}
	f.Fuzz(func(t *testing.T, header string, size int64) {
		if size < 0 {
			return
		}
		start, length, partial, err := parseRange(header, size)
		if err != nil {
			return
		}
		if start < 0 || length < 0 || start+length > size || (!partial && (start != 0 || length != size)) || (partial && length == 0) {
			t.Fatalf("parseRange(%q, %d) = %d %d %v", header, size, start, length, partial)
		}
	})
}

func TestParseContentRange(t *testing.T) {
	for _, tt := range []struct {
		header     string
		start, end int64
		ok         bool
		err        error
	}{
		{"", 0, 0, false, nil},
		{"0-9", 0, 9, true, nil},
		{"bytes 10-19/*", 10, 19, true, nil},
		{"bytes=10-19", 10, 19, true, nil},
		{"bytes 10-19/100", 10, 19, true, nil},
		{"9-0", 0, 0, false, errRangeInvalid},
		{"-1-5", 0, 0, false, errRangeInvalid},
		{"1-", 0, 0, false, errRangeInvalid},
		{"99999999999999999999-1", 0, 0, false, errRangeInvalid},
	} {
		start, end, ok, err := parseContentRange(tt.header)
		if start != tt.start || end != tt.end || ok != tt.ok || !errors.Is(err, tt.err) {
			t.Errorf("parseContentRange(%q) = %d %d %v %v", tt.header, start, end, ok, err)
		}
	}
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"0-9", "bytes 1-2/3", "bytes=4-5", "5-4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		start, end, ok, err := parseContentRange(header)
		if ok && (err != nil || start < 0 || end < start) {
			t.Fatalf("parseContentRange(%q) = %d %d %v %v", header, start, end, ok, err)
		}
	})
}

func TestParseManifestRows(t *testing.T) {
	cfg := `{"mediaType":"application/vnd.example.config","digest":"` + testSHA256 + `","size":0}`
	m, err := parseManifest(ocispec.MediaTypeImageManifest+"; charset=utf-8",
		[]byte(`{"schemaVersion":2,"config":`+cfg+`,"layers":[`+cfg+`],"subject":`+cfg+`,"annotations":{"a":"b"}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := struct {
		MediaType, ArtifactType, Subject, Config string
		Blobs                                    int
	}{ocispec.MediaTypeImageManifest, "application/vnd.example.config", testSHA256, testSHA256, 1}
	got := struct {
		MediaType, ArtifactType, Subject, Config string
		Blobs                                    int
	}{m.MediaType, m.ArtifactType, string(m.Subject), string(m.ConfigDigest), len(m.Blobs)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("manifest row (-want +got):\n%s", diff)
	}

	idx, err := parseManifest("", []byte(`{"schemaVersion":2,"mediaType":"`+ocispec.MediaTypeImageIndex+`","manifests":[`+
		`{"mediaType":"`+ocispec.MediaTypeImageManifest+`","digest":"`+testSHA256+`","size":2}]}`))
	if err != nil || idx.ArtifactType != "" || len(idx.Children) != 1 || idx.MediaType != ocispec.MediaTypeImageIndex {
		t.Errorf("index row: %+v, %v", idx, err)
	}
	if _, err := parseManifest(ocispec.MediaTypeImageIndex, []byte(`{"schemaVersion":2,"config":`+cfg+`,"manifests":[]}`)); !errors.Is(err, errManifestInvalid) {
		t.Errorf("index with a config: %v", err)
	}
}

// FuzzParseManifest: no body panics the manifest parser, and what it
// accepts has a supported media type and valid digests.
func FuzzParseManifest(f *testing.F) {
	f.Add(ocispec.MediaTypeImageManifest, []byte(`{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"`+testSHA256+`","size":1},"layers":[]}`))
	f.Add(ocispec.MediaTypeImageIndex, []byte(`{"schemaVersion":2,"manifests":[{"mediaType":"a/b","digest":"`+testSHA512+`","size":1}]}`))
	f.Add("", []byte(`{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		m, err := parseManifest(contentType, body)
		if err != nil {
			return
		}
		if _, ok := manifestKind(m.MediaType); !ok {
			t.Fatalf("accepted media type %q", m.MediaType)
		}
		for _, d := range append(append(m.Blobs, m.Children...), m.Subject) {
			if d != "" && d.Validate() != nil {
				t.Fatalf("accepted digest %q", d)
			}
		}
	})
}

func TestAccepts(t *testing.T) {
	const (
		oci    = ocispec.MediaTypeImageManifest
		index  = ocispec.MediaTypeImageIndex
		docker = "application/vnd.docker.distribution.manifest.v2+json"
	)
	tests := []struct {
		headers []string
		mt      string
		want    bool
	}{
		{nil, oci, true},
		{[]string{""}, oci, true},
		{[]string{"not a media type;;"}, oci, true},
		{[]string{oci}, oci, true},
		{[]string{docker + ", " + oci}, oci, true},
		{[]string{docker, oci}, oci, true}, // several headers
		{[]string{docker}, oci, false},
		{[]string{oci}, index, false},
		{[]string{"*/*"}, index, true},
		{[]string{"application/*"}, index, true},
		{[]string{"text/*"}, index, false},
		{[]string{"application/json"}, oci, false},
		{[]string{oci + ";q=0"}, oci, false},
		{[]string{oci + ";q=0, */*"}, oci, false},          // the exact range decides
		{[]string{"application/*;q=0, " + oci}, oci, true}, // likewise
		{[]string{"application/*;q=0, */*"}, oci, false},   // type/* beats */*
		{[]string{oci + ";q=0.5, " + index + ";q=1"}, oci, true},
	}
	for _, tt := range tests {
		if got := accepts(tt.headers, tt.mt); got != tt.want {
			t.Errorf("accepts(%q, %s) = %v, want %v", tt.headers, tt.mt, got, tt.want)
		}
	}
}
