package server

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func sampleSpans() []span {
	return []span{
		{Name: "app", Version: "1.0.0", Digest: "sha256:" + string(bytes.Repeat([]byte("a"), 64)), Created: 1700000000123456789, YAML: [2]int64{10, 300}, JSON: [2]int64{20, 400}},
		{Name: "ünicode-chart", Version: "2.0.0-rc.1+build.7", Digest: "sha256:ff", Created: -5, YAML: [2]int64{1 << 40, 1}, JSON: [2]int64{0, 7}},
	}
}

func TestSpansRoundTrip(t *testing.T) {
	var b bytes.Buffer
	if err := writeSpans(&b, sampleSpans()); err != nil {
		t.Fatal(err)
	}
	got, err := parseSpans(&b)
	if err != nil {
		t.Fatal(err)
	}
	want := map[fragKey]span{}
	for _, s := range sampleSpans() {
		want[s.key()] = s
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(fragKey{})); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
	// Cut anywhere but at a span's end, the file is damaged, never
	// half read.
	full := b.Len()
	var whole bytes.Buffer
	_ = writeSpans(&whole, sampleSpans())
	ends := map[int]bool{len(spansMagic): true, whole.Len(): true}
	var first bytes.Buffer
	_ = writeSpans(&first, sampleSpans()[:1])
	ends[first.Len()] = true
	for n := 0; n < whole.Len(); n++ {
		got, err := parseSpans(bytes.NewReader(whole.Bytes()[:n]))
		if ends[n] {
			if err != nil {
				t.Errorf("cut at %d (a span's end): %v", n, err)
			}
			continue
		}
		if !errors.Is(err, errBadSpans) || got != nil {
			t.Errorf("cut at %d of %d: %d spans, %v; want errBadSpans", n, full, len(got), err)
		}
	}
}

func FuzzParseSpans(f *testing.F) {
	var b bytes.Buffer
	_ = writeSpans(&b, sampleSpans())
	f.Add(b.Bytes())
	f.Add([]byte(spansMagic))
	f.Add([]byte(spansMagic + "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		spans, err := parseSpans(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, errBadSpans) {
				t.Fatalf("error %v is not errBadSpans", err)
			}
			return
		}
		// What parses writes back to what parses the same.
		list := make([]span, 0, len(spans))
		for _, s := range spans {
			if s.YAML[0] < 0 || s.YAML[1] < 0 || s.JSON[0] < 0 || s.JSON[1] < 0 {
				t.Fatalf("negative offset or length: %+v", s)
			}
			list = append(list, s)
		}
		var again bytes.Buffer
		if err := writeSpans(&again, list); err != nil {
			t.Fatal(err)
		}
		back, err := parseSpans(&again)
		if err != nil || len(back) != len(spans) {
			t.Fatalf("re-read: %d spans, %v; want %d", len(back), err, len(spans))
		}
	})
}
