package server

import (
	"strings"
	"testing"
	"time"
)

// A config file writes durations as the flags take them.
func TestConfigFileDurations(t *testing.T) {
	tests := []struct {
		name, doc string
		check     func(Config) bool
		wantErr   []string
	}{
		{name: "units", doc: "gcGrace: 1h\ndbTimeout: 2500ms\nshutdownTimeout: \" 45s \"\ndepth: 2\n",
			check: func(c Config) bool {
				return c.GCGrace == time.Hour && c.DBTimeout == 2500*time.Millisecond && c.ShutdownTimeout == 45*time.Second && c.Depth == 2
			}},
		{name: "zero needs no unit", doc: "gcInterval: 0\n", check: func(c Config) bool { return c.GCInterval == 0 }},
		{name: "json", doc: `{"tokenTTL": "10m"}`, check: func(c Config) bool { return c.TokenTTL == 10*time.Minute }},
		{name: "every bad duration at once", doc: "gcGrace: 3600\ndbTimeout: soon\nuploadTTL: [1]\n",
			wantErr: []string{"gcGrace", "\"90s\"", "dbTimeout", "soon", "uploadTTL"}},
		{name: "unknown key still refused", doc: "gcGrace: 1h\nnoSuchKey: 1\n", wantErr: []string{"noSuchKey"}},
		{name: "not a mapping", doc: "- a\n- b\n", wantErr: []string{"cannot unmarshal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			err := (&c).load([]byte(tt.doc))
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("load accepted %q: %+v", tt.doc, c)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("load(%q) = %+v", tt.doc, c)
			}
		})
	}
}

// Every duration field of Config is found, so none is left taking
// nanoseconds only.
func TestDurationFieldsFound(t *testing.T) {
	got := durationFields()
	for _, name := range []string{"dbTimeout", "gcInterval", "gcGrace", "uploadTTL", "shutdownTimeout", "tokenTTL", "failedLoginInterval", "readTimeout", "writeTimeout"} {
		if !got[name] {
			t.Errorf("%s is not a duration field: %v", name, got)
		}
	}
}

func FuzzConfigFile(f *testing.F) {
	f.Add([]byte("gcGrace: 1h\ndepth: 1\n"))
	f.Add([]byte(`{"dbTimeout": "5s", "users": [{"name": "a"}]}`))
	f.Add([]byte("dbTimeout: 9999999999999h\n"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		c := DefaultConfig()
		_ = (&c).load(doc) // must not panic
	})
}
