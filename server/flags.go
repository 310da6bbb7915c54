package server

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// FlagSet binds every flag to c. ChartMuseum's flags keep their names and
// environment variables (upper case, '-' as '_': STORAGE_LOCAL_ROOTDIR) so
// existing deployments keep their configuration; chartd's own flags read
// CHARTD_* variables.
func (c *Config) FlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	s := func(p *string, n, usage string) { fs.StringVar(p, n, *p, usage) }
	b := func(p *bool, n, usage string) { fs.BoolVar(p, n, *p, usage) }
	i := func(p *int, n, usage string) { fs.IntVar(p, n, *p, usage) }

	s(&c.ListenHost, "listen-host", "address to listen on")
	i(&c.Port, "port", "port to listen on")
	s(&c.ContextPath, "context-path", "base path of every route, e.g. /charts")
	s(&c.TLSCert, "tls-cert", "TLS certificate file")
	s(&c.TLSKey, "tls-key", "TLS key file")
	s(&c.TLSCACert, "tls-ca-cert", "CA certificate for client certificate (mTLS) verification")

	s(&c.DataDir, "data-dir", "directory for the embedded database (default: inside a local store, else ./data) and the default store")
	s(&c.DatabaseURL, "database-url", "SQLite path or postgres:// DSN")
	s(&c.StorageURL, "storage-url", "gocloud.dev/blob bucket URL (file://, s3://, gs://, azblob://, mem://)")
	s(&c.Storage, "storage", "ChartMuseum storage backend: local, amazon, google, microsoft")
	s(&c.StorageLocalRootDir, "storage-local-rootdir", "directory for --storage=local")
	s(&c.StorageAmazonBucket, "storage-amazon-bucket", "S3 bucket")
	s(&c.StorageAmazonPrefix, "storage-amazon-prefix", "S3 key prefix")
	s(&c.StorageAmazonRegion, "storage-amazon-region", "S3 region")
	s(&c.StorageAmazonEndpoint, "storage-amazon-endpoint", "S3-compatible endpoint URL")
	s(&c.StorageGoogleBucket, "storage-google-bucket", "GCS bucket")
	s(&c.StorageGooglePrefix, "storage-google-prefix", "GCS key prefix")
	s(&c.StorageMicrosoftContainer, "storage-microsoft-container", "Azure Blob container")
	s(&c.StorageMicrosoftPrefix, "storage-microsoft-prefix", "Azure Blob key prefix")

	i(&c.Depth, "depth", "number of path segments that name a tenant")
	b(&c.DepthDynamic, "depth-dynamic", "infer the tenant depth per request")

	s(&c.BasicAuthUser, "basic-auth-user", "username for basic auth")
	s(&c.BasicAuthPass, "basic-auth-pass", "password for basic auth")
	b(&c.AuthAnonymousGet, "auth-anonymous-get", "allow anonymous GET")
	b(&c.BearerAuth, "bearer-auth", "require bearer tokens")
	s(&c.AuthRealm, "auth-realm", "token realm for bearer auth")
	s(&c.AuthService, "auth-service", "token service for bearer auth")
	s(&c.AuthCertPath, "auth-cert-path", "public key (PEM) that signs bearer tokens")

	b(&c.AllowOverwrite, "allow-overwrite", "allow replacing an existing chart version")
	b(&c.DisableForceOverwrite, "disable-force-overwrite", "ignore ?force on uploads")
	b(&c.AllowForceOverwrite, "allow-force-overwrite", "let ?force replace an existing chart version")
	b(&c.DisableDelete, "disable-delete", "refuse DELETE")
	b(&c.DisableAPI, "disable-api", "disable the /api routes")
	fs.Int64Var(&c.MaxUploadSize, "max-upload-size", c.MaxUploadSize, "largest accepted upload in bytes")
	i(&c.MaxStorageObjects, "max-storage-objects", "most chart versions per tenant (0: unlimited)")
	s(&c.ChartURL, "chart-url", "absolute base URL for chart URLs in index.yaml")
	b(&c.JSONIndex, "json-index", "serve index.yaml as JSON")
	b(&c.EnableMetrics, "enable-metrics", "serve Prometheus metrics at /metrics")
	s(&c.MetricsListen, "metrics-listen", "serve /metrics (with the global dedup figures) only on this host:port")
	s(&c.ChartPostFormField, "chart-post-form-field-name", "multipart field of the chart")
	s(&c.ProvPostFormField, "prov-post-form-field-name", "multipart field of the provenance file")
	s(&c.CORSAllowOrigin, "cors-alloworigin", "value of Access-Control-Allow-Origin")

	fs.DurationVar(&c.GCInterval, "gc-interval", c.GCInterval, "how often unreferenced blobs are collected (0: never)")
	fs.DurationVar(&c.GCGrace, "gc-grace", c.GCGrace, "how old an unreferenced blob must be before it is collected")
	fs.DurationVar(&c.UploadTTL, "upload-ttl", c.UploadTTL, "how long an idle OCI upload session lives")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long uploads in progress may take to finish on shutdown")
	fs.DurationVar(&c.DBTimeout, "db-timeout", c.DBTimeout, "longest wait for PostgreSQL to answer one query or transaction, then 503")
	s(&c.TokenSecretFile, "token-secret-file", "secret that signs registry tokens (shared by all replicas)")
	fs.DurationVar(&c.TokenTTL, "token-ttl", c.TokenTTL, "lifetime of registry tokens")
	s(&c.SignaturePolicy, "signature-policy", "off, verify or required")
	s(&c.Keyring, "keyring", "OpenPGP keyring (binary or armored) of trusted signers")
	s(&c.SigningKey, "signing-key", "OpenPGP secret key the server signs unsigned charts with")
	s(&c.SigningPassphraseFile, "signing-passphrase-file", "file holding the signing key's passphrase (or CHARTD_SIGNING_PASSPHRASE)")
	b(&c.ImportOnStart, "import-on-start", "adopt charts found in a ChartMuseum storage layout on first start")

	b(&c.Debug, "debug", "log at debug level")
	b(&c.LogJSON, "log-json", "write logs as JSON instead of text")
	b(&c.LogHealth, "log-health", "log successful /health and /ready requests too")
	b(&c.LogLatency, "log-latency", "include each request's latency in its access log line")
	b(&c.LogLatencyInteger, "log-latency-integer", "log latency as an integer (nanoseconds) instead of a string")
	fs.Var((*seconds)(&c.ReadTimeout), "read-timeout", "longest time to read a request, body included (seconds, or a duration such as 90s; 0: no limit)")
	fs.Var((*seconds)(&c.WriteTimeout), "write-timeout", "longest time to write a response (seconds, or a duration such as 5m; 0: no limit)")
	fs.Int64Var(&c.IndexCacheSize, "index-cache-size", c.IndexCacheSize, "bytes of rendered indexes kept in memory, over all tenants")
	s(&c.IndexDir, "index-dir", "directory for rendered indexes, kept across restarts (default: <data-dir>/index with the embedded database, else <data-dir>/index when --data-dir is given, else a directory under the system's temporary directory)")

	// ChartMuseum flags whose job chartd does differently. They are accepted
	// so existing deployments start unchanged, and have no effect: the index
	// is kept from the database, so there is no cache interval, no state
	// file, no index limit and no external cache. The README lists them.
	for _, name := range []string{"cache-interval", "index-limit", "cache",
		"cache-redis-addr", "cache-redis-password", "cache-redis-db"} {
		fs.String(name, "", "accepted for ChartMuseum compatibility; no effect in chartd")
	}
	for _, name := range []string{"disable-statefiles", "genindex"} {
		fs.Bool(name, false, "accepted for ChartMuseum compatibility; no effect in chartd")
	}
	return fs
}

// chartdOwn reports whether a flag is chartd's own, read from CHARTD_<NAME>.
func chartdOwn(name string) bool {
	switch name {
	case "data-dir", "database-url", "storage-url", "allow-force-overwrite", "signature-policy", "keyring", "signing-key",
		"signing-passphrase-file", "token-secret-file", "token-ttl", "gc-interval", "gc-grace", "upload-ttl", "import-on-start",
		"index-cache-size", "index-dir", "shutdown-timeout", "metrics-listen", "db-timeout":
		return true
	}
	return false
}

// EnvName is the environment variable that sets flag name.
func EnvName(name string) string {
	v := strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	if chartdOwn(name) {
		return "CHARTD_" + v
	}
	return v
}

// Parse fills c: config file (--config or CHARTD_CONFIG), then environment,
// then command-line flags, which win.
func (c *Config) Parse(args []string, getenv func(string) string) error {
	// The config file is found first so that env and flags override it.
	cfgFile := getenv("CHARTD_CONFIG")
	for i, a := range args {
		switch {
		case a == "--config" || a == "-config":
			if i+1 < len(args) {
				cfgFile = args[i+1]
			}
		case strings.HasPrefix(a, "--config="), strings.HasPrefix(a, "-config="):
			cfgFile = a[strings.Index(a, "=")+1:]
		}
	}
	if cfgFile != "" {
		if err := c.LoadFile(cfgFile); err != nil {
			return err
		}
	}
	fs := c.FlagSet("chartd")
	fs.String("config", cfgFile, "YAML config file (CHARTD_CONFIG)")
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "config" {
			return
		}
		if v := getenv(EnvName(f.Name)); v != "" {
			if err := f.Value.Set(v); err != nil && envErr == nil {
				envErr = fmt.Errorf("environment %s: %w", EnvName(f.Name), err)
			}
		}
	})
	if envErr != nil {
		return envErr
	}
	fs.SetOutput(os.Stderr)
	return fs.Parse(args)
}

// seconds is a duration flag that also takes ChartMuseum's form, a bare
// number of seconds ("--read-timeout=30").
type seconds time.Duration

func (d *seconds) String() string { return time.Duration(*d).String() }

func (d *seconds) Set(v string) error {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		*d = seconds(time.Duration(n) * time.Second)
		return nil
	}
	p, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("%q is neither a number of seconds nor a duration", v)
	}
	*d = seconds(p)
	return nil
}
