package server

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chartd/chartd/intake"
	"github.com/chartd/chartd/storage/sqldb"
)

// Config is chartd's whole configuration. It is filled from defaults, then
// the YAML config file, then environment variables, then flags, and checked
// by Validate before anything starts.
type Config struct {
	// Listening.
	ListenHost  string `json:"listenHost"`
	Port        int    `json:"port"`
	ContextPath string `json:"contextPath"`
	TLSCert     string `json:"tlsCert"`
	TLSKey      string `json:"tlsKey"`
	TLSCACert   string `json:"tlsCACert"`

	// Storage. StorageURL and DatabaseURL are chartd's own; the Storage*
	// fields are ChartMuseum's and are translated into a bucket URL.
	DataDir                   string `json:"dataDir"`
	DatabaseURL               string `json:"databaseURL"`
	StorageURL                string `json:"storageURL"`
	Storage                   string `json:"storage"`
	StorageLocalRootDir       string `json:"storageLocalRootdir"`
	StorageAmazonBucket       string `json:"storageAmazonBucket"`
	StorageAmazonPrefix       string `json:"storageAmazonPrefix"`
	StorageAmazonRegion       string `json:"storageAmazonRegion"`
	StorageAmazonEndpoint     string `json:"storageAmazonEndpoint"`
	StorageGoogleBucket       string `json:"storageGoogleBucket"`
	StorageGooglePrefix       string `json:"storageGooglePrefix"`
	StorageMicrosoftContainer string `json:"storageMicrosoftContainer"`
	StorageMicrosoftPrefix    string `json:"storageMicrosoftPrefix"`
	// DBTimeout bounds each call to a PostgreSQL database: a server that
	// does not answer within it (stopped, frozen, cut off) fails the
	// request with 503 instead of holding it forever.
	DBTimeout time.Duration `json:"dbTimeout"`

	// Tenancy.
	Depth        int  `json:"depth"`
	DepthDynamic bool `json:"depthDynamic"`

	// Auth.
	BasicAuthUser    string `json:"basicAuthUser"`
	BasicAuthPass    string `json:"basicAuthPass"`
	AuthAnonymousGet bool   `json:"authAnonymousGet"`
	BearerAuth       bool   `json:"bearerAuth"`
	AuthRealm        string `json:"authRealm"`
	AuthService      string `json:"authService"`
	AuthCertPath     string `json:"authCertPath"`

	// API behaviour.
	AllowOverwrite        bool `json:"allowOverwrite"`
	DisableForceOverwrite bool `json:"disableForceOverwrite"`
	// AllowForceOverwrite makes ?force replace a version. ChartMuseum honours
	// ?force by default; chartd keeps versions immutable unless asked.
	AllowForceOverwrite bool   `json:"allowForceOverwrite"`
	DisableDelete       bool   `json:"disableDelete"`
	DisableAPI          bool   `json:"disableAPI"`
	MaxUploadSize       int64  `json:"maxUploadSize"`
	MaxStorageObjects   int    `json:"maxStorageObjects"`
	ChartURL            string `json:"chartURL"`
	JSONIndex           bool   `json:"jsonIndex"`
	EnableMetrics       bool   `json:"enableMetrics"`
	// MetricsListen, when set, serves /metrics on its own listener only
	// (implying EnableMetrics), with the global figures the public one
	// leaves out (the dedup ratio tells what all tenants hold).
	MetricsListen      string `json:"metricsListen"`
	ChartPostFormField string `json:"chartPostFormFieldName"`
	ProvPostFormField  string `json:"provPostFormFieldName"`
	CORSAllowOrigin    string `json:"corsAllowOrigin"`

	// Background work.
	GCInterval time.Duration `json:"gcInterval"`
	GCGrace    time.Duration `json:"gcGrace"`
	UploadTTL  time.Duration `json:"uploadTTL"`
	// ShutdownTimeout bounds how long uploads in progress may take to
	// finish once shutdown began.
	ShutdownTimeout time.Duration `json:"shutdownTimeout"`

	// chartd's own users (config file only) and registry tokens.
	Users           []UserConfig  `json:"users"`
	TokenSecretFile string        `json:"tokenSecretFile"`
	TokenTTL        time.Duration `json:"tokenTTL"`
	// FailedLoginBurst is how many failed logins in a row a client address
	// or a user name may have; one more is allowed every
	// FailedLoginInterval. 0 takes the defaults.
	FailedLoginBurst    int           `json:"failedLoginBurst"`
	FailedLoginInterval time.Duration `json:"failedLoginInterval"`
	// PasswordCheckShare is the most of a core that password checks
	// (bcrypt, for logins not seen before) may take, from 0 to 1; 0 takes
	// the default, 0.2. A lower share keeps a login flood from slowing
	// everyone else; a higher one lets more first logins through at once.
	PasswordCheckShare float64 `json:"passwordCheckShare"`

	// Provenance.
	SignaturePolicy       string                  `json:"signaturePolicy"`
	Keyring               string                  `json:"keyring"`
	SigningKey            string                  `json:"signingKey"`
	SigningPassphraseFile string                  `json:"signingPassphraseFile"`
	Tenants               map[string]TenantConfig `json:"tenants"`

	// Import adopts a ChartMuseum storage layout on first start.
	ImportOnStart bool `json:"importOnStart"`

	// Logging, with ChartMuseum's switches: Debug lowers the level to
	// debug; LogJSON writes JSON instead of text; LogHealth logs successful
	// /health requests too; LogLatency adds each request's latency to its
	// access line, as nanoseconds with LogLatencyInteger.
	Debug             bool `json:"debug"`
	LogJSON           bool `json:"logJSON"`
	LogHealth         bool `json:"logHealth"`
	LogLatency        bool `json:"logLatency"`
	LogLatencyInteger bool `json:"logLatencyInteger"`

	// ReadTimeout and WriteTimeout bound a whole request's reading and its
	// response's writing (http.Server's fields); 0 means none. Headers must
	// arrive within 30 seconds in any case.
	ReadTimeout  time.Duration `json:"readTimeout"`
	WriteTimeout time.Duration `json:"writeTimeout"`

	// IndexCacheSize is the byte budget of rendered indexes kept in memory,
	// over all tenants; the least recently used are dropped first.
	IndexCacheSize int64 `json:"indexCacheSize"`
	// IndexDir keeps the rendered indexes on disk, so a restart renders
	// nothing ("": see Config.indexDir).
	IndexDir string `json:"indexDir"`
}

// DefaultConfig returns ChartMuseum's defaults plus chartd's own.
func DefaultConfig() Config {
	return Config{
		ListenHost:         "0.0.0.0",
		Port:               8080,
		Storage:            "",
		MaxUploadSize:      20 * 1024 * 1024,
		ChartPostFormField: "chart",
		ProvPostFormField:  "prov",
		GCInterval:         10 * time.Minute,
		GCGrace:            time.Hour,
		UploadTTL:          24 * time.Hour,
		ShutdownTimeout:    30 * time.Second,
		DBTimeout:          sqldb.DefaultTimeout,
		ImportOnStart:      true,
		TokenTTL:           5 * time.Minute,
		// ChartMuseum always logs latency; --log-latency=false leaves it out.
		LogLatency:     true,
		IndexCacheSize: 256 << 20,
	}
}

// Validate reports every problem with the configuration at once.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Port < 0 || c.Port > 65535 {
		add("port %d is out of range", c.Port)
	}
	if c.Depth < 0 {
		add("depth %d must not be negative", c.Depth)
	}
	if c.ContextPath != "" && (!strings.HasPrefix(c.ContextPath, "/") || strings.HasSuffix(c.ContextPath, "/")) {
		add("context-path %q must start with / and not end with /", c.ContextPath)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		add("tls-cert and tls-key must be given together")
	}
	if c.TLSCACert != "" && c.TLSCert == "" {
		add("tls-ca-cert needs tls-cert and tls-key")
	}
	if (c.BasicAuthUser == "") != (c.BasicAuthPass == "") {
		add("basic-auth-user and basic-auth-pass must be given together")
	}
	if c.BearerAuth {
		if c.AuthRealm == "" {
			add("bearer-auth needs auth-realm")
		}
		if c.AuthService == "" {
			add("bearer-auth needs auth-service")
		}
		if c.AuthCertPath == "" {
			add("bearer-auth needs auth-cert-path")
		}
	}
	if c.MaxUploadSize <= 0 {
		add("max-upload-size must be positive")
	}
	if c.ShutdownTimeout < 0 {
		add("shutdown-timeout must not be negative")
	}
	// No "0: no limit": an unbounded wait is exactly the hang this
	// guards against, and a deployment with slow queries raises it.
	if c.DBTimeout <= 0 {
		add("db-timeout must be positive")
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			add("metrics-listen %q is not host:port: %v", c.MetricsListen, err)
		}
	}
	if c.MaxStorageObjects < 0 {
		add("max-storage-objects must not be negative")
	}
	if c.ChartURL != "" {
		if u, err := url.Parse(c.ChartURL); err != nil || u.Scheme == "" || u.Host == "" {
			add("chart-url %q is not an absolute URL", c.ChartURL)
		}
	}
	if c.ChartPostFormField == "" || c.ProvPostFormField == "" {
		add("the chart and prov form field names must not be empty")
	}
	errs = append(errs, validateUsers(c.Users)...)
	if len(c.Users) > 0 && (c.BasicAuthUser != "" || c.BearerAuth) {
		add("users in the config file replace basic-auth-user and bearer-auth: use one model")
	}
	if c.TokenTTL <= 0 {
		add("token-ttl must be positive")
	}
	if !intake.ValidPolicy(c.SignaturePolicy) {
		add("signature-policy %q must be off, verify or required", c.SignaturePolicy)
	}
	for path, tc := range c.Tenants {
		if !intake.ValidPolicy(tc.SignaturePolicy) {
			add("tenant %q: signature policy %q must be off, verify or required", path, tc.SignaturePolicy)
		}
		if err := intake.CheckPath(path); err != nil {
			add("tenant %q: %v", path, err)
		}
	}
	if c.SigningPassphraseFile != "" && c.SigningKey == "" {
		add("signing-passphrase-file needs signing-key")
	}
	if _, err := c.BucketURL(); err != nil {
		errs = append(errs, err)
	}
	if c.ReadTimeout < 0 {
		add("read-timeout must not be negative")
	}
	if c.WriteTimeout < 0 {
		add("write-timeout must not be negative")
	}
	if c.PasswordCheckShare < 0 || c.PasswordCheckShare > 1 {
		add("passwordCheckShare must be between 0 and 1")
	}
	if c.IndexCacheSize <= 0 {
		add("index-cache-size must be positive")
	}
	return errors.Join(errs...)
}

// BucketURL is the gocloud.dev/blob URL of the store: --storage-url as given,
// else built from ChartMuseum's --storage flags, else <data-dir>/storage.
func (c *Config) BucketURL() (string, error) {
	if c.StorageURL != "" {
		if _, err := url.Parse(c.StorageURL); err != nil {
			return "", fmt.Errorf("storage-url: %w", err)
		}
		return c.StorageURL, nil
	}
	withPrefix := func(u, prefix string) string {
		if p := strings.Trim(prefix, "/"); p != "" {
			return u + "&prefix=" + url.QueryEscape(p+"/")
		}
		return u
	}
	switch c.Storage {
	case "":
		return fileURL(filepath.Join(c.dataDir(), "storage")), nil
	case "local":
		if c.StorageLocalRootDir == "" {
			return "", errors.New("storage=local needs storage-local-rootdir")
		}
		return fileURL(c.StorageLocalRootDir), nil
	case "amazon":
		if c.StorageAmazonBucket == "" {
			return "", errors.New("storage=amazon needs storage-amazon-bucket")
		}
		q := url.Values{}
		if c.StorageAmazonRegion != "" {
			q.Set("region", c.StorageAmazonRegion)
		}
		if c.StorageAmazonEndpoint != "" {
			q.Set("endpoint", c.StorageAmazonEndpoint)
			q.Set("use_path_style", "true")
		}
		u := "s3://" + c.StorageAmazonBucket + "?" + q.Encode()
		return withPrefix(u, c.StorageAmazonPrefix), nil
	case "google":
		if c.StorageGoogleBucket == "" {
			return "", errors.New("storage=google needs storage-google-bucket")
		}
		return withPrefix("gs://"+c.StorageGoogleBucket+"?", c.StorageGooglePrefix), nil
	case "microsoft":
		if c.StorageMicrosoftContainer == "" {
			return "", errors.New("storage=microsoft needs storage-microsoft-container")
		}
		return withPrefix("azblob://"+c.StorageMicrosoftContainer+"?", c.StorageMicrosoftPrefix), nil
	default:
		return "", fmt.Errorf("storage %q is not supported (local, amazon, google, microsoft, or --storage-url)", c.Storage)
	}
}

// DatabaseDSN is --database-url, or a SQLite file where the store's
// database lives (see databaseDir).
func (c *Config) DatabaseDSN() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return filepath.Join(c.databaseDir(), "chartd.db")
}

func fileURL(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	// create_dir makes a fresh data dir work without a separate mkdir step.
	return "file://" + filepath.ToSlash(abs) + "?create_dir=true"
}

// signingPassphrase reads the signing key's passphrase from
// --signing-passphrase-file or CHARTD_SIGNING_PASSPHRASE (never a flag, which
// would show in the process list).
func (c *Config) signingPassphrase() ([]byte, error) {
	if c.SigningPassphraseFile != "" {
		b, err := os.ReadFile(c.SigningPassphraseFile)
		if err != nil {
			return nil, fmt.Errorf("signing passphrase: %w", err)
		}
		return []byte(strings.TrimRight(string(b), "\r\n")), nil
	}
	return []byte(os.Getenv("CHARTD_SIGNING_PASSPHRASE")), nil
}
