package server

import (
	"strings"
	"testing"
)

func TestConfigValidateReportsEverything(t *testing.T) {
	c := DefaultConfig()
	c.Port = 70000
	c.Depth = -1
	c.ContextPath = "charts/"
	c.TLSCert = "x"
	c.BasicAuthUser = "u"
	c.BearerAuth = true
	c.MaxUploadSize = 0
	c.ChartURL = "not a url"
	c.Storage = "floppy"
	c.SignaturePolicy = "sometimes"
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted a broken config")
	}
	for _, want := range []string{"port", "depth", "context-path", "tls-key", "basic-auth", "auth-realm", "auth-service",
		"auth-cert-path", "max-upload-size", "chart-url", "floppy", "signature-policy"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %q, missing a problem about %q", err, want)
		}
	}
}

func TestConfigDefaultsValid(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigParsePrecedence(t *testing.T) {
	env := map[string]string{
		"PORT":                  "9000",
		"STORAGE":               "local",
		"STORAGE_LOCAL_ROOTDIR": "/srv/charts",
		"CHARTD_DATA_DIR":       "/var/lib/chartd",
		"DEPTH":                 "2",
	}
	c := DefaultConfig()
	if err := c.Parse([]string{"--port=9100", "--allow-overwrite"}, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.Port != 9100 {
		t.Errorf("flag must win over env: port %d", c.Port)
	}
	if c.Depth != 2 || c.StorageLocalRootDir != "/srv/charts" || c.DataDir != "/var/lib/chartd" || !c.AllowOverwrite {
		t.Errorf("env not applied: %+v", c)
	}
	u, err := c.BucketURL()
	if err != nil || u != "file:///srv/charts?create_dir=true" {
		t.Errorf("BucketURL = %q, %v", u, err)
	}
}

func TestConfigParseBadEnv(t *testing.T) {
	c := DefaultConfig()
	err := c.Parse(nil, func(k string) string {
		if k == "PORT" {
			return "eighty"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), "PORT") {
		t.Fatalf("want an error naming PORT, got %v", err)
	}
}

func TestBucketURLAmazon(t *testing.T) {
	c := DefaultConfig()
	c.Storage = "amazon"
	c.StorageAmazonBucket = "charts"
	c.StorageAmazonRegion = "us-east-1"
	c.StorageAmazonEndpoint = "http://127.0.0.1:9000"
	c.StorageAmazonPrefix = "/team/"
	u, err := c.BucketURL()
	if err != nil {
		t.Fatal(err)
	}
	want := "s3://charts?endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=us-east-1&use_path_style=true&prefix=team%2F"
	if u != want {
		t.Errorf("BucketURL = %q, want %q", u, want)
	}
}

func TestChartMuseumOnlyFlagsAccepted(t *testing.T) {
	c := DefaultConfig()
	args := []string{"--debug", "--log-json", "--disable-statefiles", "--cache-interval=1m", "--index-limit=3"}
	if err := c.Parse(args, func(string) string { return "" }); err != nil {
		t.Fatalf("a ChartMuseum deployment's flags must still start chartd: %v", err)
	}
	if err := c.Parse([]string{"--no-such-flag"}, func(string) string { return "" }); err == nil {
		t.Error("unknown flag accepted")
	}
}
