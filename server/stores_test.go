package server

import (
	"path/filepath"
	"testing"
)

// TestDatabaseGoesWithItsStore: without --data-dir or --database-url, a
// store of local files holds its own database; every other store keeps it
// under ./data, as before.
func TestDatabaseGoesWithItsStore(t *testing.T) {
	abs := func(p ...string) string { return filepath.Join(append([]string{string(filepath.Separator)}, p...)...) }
	tests := []struct {
		name string
		set  func(*Config)
		want string
	}{
		{"defaults", func(*Config) {}, filepath.Join("data", "chartd.db")},
		{"data dir", func(c *Config) { c.DataDir = abs("var", "chartd") }, abs("var", "chartd", "chartd.db")},
		{"ChartMuseum's local flags", func(c *Config) { c.Storage, c.StorageLocalRootDir = "local", abs("srv", "charts") },
			abs("srv", "charts", "_chartd", "db", "chartd.db")},
		{"local flags and a data dir", func(c *Config) {
			c.Storage, c.StorageLocalRootDir, c.DataDir = "local", abs("srv", "charts"), abs("var", "chartd")
		}, abs("var", "chartd", "chartd.db")},
		{"file storage URL", func(c *Config) { c.StorageURL = "file://" + abs("srv", "charts") + "?create_dir=true" },
			abs("srv", "charts", "_chartd", "db", "chartd.db")},
		{"S3", func(c *Config) { c.Storage, c.StorageAmazonBucket = "amazon", "charts" }, filepath.Join("data", "chartd.db")},
		{"database URL", func(c *Config) {
			c.Storage, c.StorageLocalRootDir, c.DatabaseURL = "local", abs("srv"), "postgres://db/chartd"
		}, "postgres://db/chartd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.set(&c)
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := c.DatabaseDSN(); got != tt.want {
				t.Errorf("DatabaseDSN() = %q, want %q", got, tt.want)
			}
		})
	}
	// The default store still lives under the data dir.
	c := DefaultConfig()
	if u, err := c.BucketURL(); err != nil || u != fileURL(filepath.Join("data", "storage")) {
		t.Errorf("default BucketURL = %q, %v", u, err)
	}
}
