package server

import (
	"strings"
	"testing"
	"time"
)

// --db-timeout comes from the flag or CHARTD_DB_TIMEOUT, defaults to a few
// seconds, and must be positive.
func TestDBTimeoutConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    time.Duration
		invalid bool
	}{
		{"default", nil, nil, 5 * time.Second, false},
		{"flag", []string{"--db-timeout=750ms"}, nil, 750 * time.Millisecond, false},
		{"env", nil, map[string]string{"CHARTD_DB_TIMEOUT": "2s"}, 2 * time.Second, false},
		{"flag over env", []string{"--db-timeout=3s"}, map[string]string{"CHARTD_DB_TIMEOUT": "2s"}, 3 * time.Second, false},
		{"zero is no bound, refused", []string{"--db-timeout=0"}, nil, 0, true},
		{"negative", []string{"--db-timeout=-1s"}, nil, -time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			if err := c.Parse(tc.args, func(k string) string { return tc.env[k] }); err != nil {
				t.Fatal(err)
			}
			if c.DBTimeout != tc.want {
				t.Errorf("DBTimeout = %v, want %v", c.DBTimeout, tc.want)
			}
			err := c.Validate()
			if tc.invalid != (err != nil) || (err != nil && !strings.Contains(err.Error(), "db-timeout")) {
				t.Errorf("Validate() = %v, want invalid: %t", err, tc.invalid)
			}
		})
	}
}
