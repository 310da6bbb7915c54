// Package helmpath resolves the directories and HELM_* environment settings
// the way Helm 3 does, so that our client and real Helm read and write the
// same repositories.yaml, repository cache and registry credentials.
//
// Precedence for each base directory (cache, config, data):
//  1. HELM_CACHE_HOME / HELM_CONFIG_HOME / HELM_DATA_HOME, used as is;
//  2. XDG_CACHE_HOME / XDG_CONFIG_HOME / XDG_DATA_HOME, plus "/helm";
//  3. the OS default ($HOME/.cache, $HOME/.config, $HOME/.local/share on
//     Linux), plus "/helm".
package helmpath

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// Lookup reads an environment variable; os.LookupEnv in production, a map in tests.
type Lookup func(key string) (string, bool)

// MapLookup adapts a map to Lookup.
func MapLookup(m map[string]string) Lookup {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// Defaults Helm uses when the variables are unset.
const (
	DefaultMaxHistory = 10
	DefaultBurstLimit = 100
	DefaultNamespace  = "default"
)

// Paths resolves the three base directories.
type Paths struct {
	lookup Lookup
	goos   string
}

// NewPaths returns Paths reading the environment through lookup for the given
// GOOS ("" means runtime.GOOS).
func NewPaths(lookup Lookup, goos string) Paths {
	if goos == "" {
		goos = runtime.GOOS
	}
	return Paths{lookup: lookup, goos: goos}
}

func (p Paths) get(k string) string {
	v, _ := p.lookup(k)
	return v
}

func (p Paths) home() string {
	if p.goos == "windows" {
		if h := p.get("HOME"); h != "" {
			return h
		}
		return p.get("USERPROFILE")
	}
	return p.get("HOME")
}

// resolve follows Helm's order: the HELM_* variable is the full directory, the
// XDG one (or the OS default) gets "helm" appended.
func (p Paths) resolve(helmVar, xdgVar string, def func() string, elem ...string) string {
	if base := p.get(helmVar); base != "" {
		return filepath.Join(base, filepath.Join(elem...))
	}
	base := p.get(xdgVar)
	if base == "" {
		base = def()
	}
	return filepath.Join(base, "helm", filepath.Join(elem...))
}

func (p Paths) defaultCache() string {
	switch p.goos {
	case "darwin":
		return filepath.Join(p.home(), "Library", "Caches")
	case "windows":
		return p.get("TEMP")
	}
	return filepath.Join(p.home(), ".cache")
}

func (p Paths) defaultConfig() string {
	switch p.goos {
	case "darwin":
		return filepath.Join(p.home(), "Library", "Preferences")
	case "windows":
		return p.get("APPDATA")
	}
	return filepath.Join(p.home(), ".config")
}

func (p Paths) defaultData() string {
	switch p.goos {
	case "darwin":
		return filepath.Join(p.home(), "Library")
	case "windows":
		return p.get("APPDATA")
	}
	return filepath.Join(p.home(), ".local", "share")
}

// CachePath returns a path under Helm's cache directory.
func (p Paths) CachePath(elem ...string) string {
	return p.resolve("HELM_CACHE_HOME", "XDG_CACHE_HOME", p.defaultCache, elem...)
}

// ConfigPath returns a path under Helm's configuration directory.
func (p Paths) ConfigPath(elem ...string) string {
	return p.resolve("HELM_CONFIG_HOME", "XDG_CONFIG_HOME", p.defaultConfig, elem...)
}

// DataPath returns a path under Helm's data directory.
func (p Paths) DataPath(elem ...string) string {
	return p.resolve("HELM_DATA_HOME", "XDG_DATA_HOME", p.defaultData, elem...)
}

// CacheIndexFile is the cache file name of a repository's index.
func CacheIndexFile(name string) string { return name + "-index.yaml" }

// CacheChartsFile is the cache file name of a repository's chart-name list.
func CacheChartsFile(name string) string { return name + "-charts.txt" }

// Settings are Helm's client settings: environment first, then overridden by
// global flags bound to these fields.
type Settings struct {
	Paths Paths

	Debug            bool
	Namespace        string
	KubeConfig       string
	KubeContext      string
	KubeToken        string
	KubeAsUser       string
	KubeAsGroups     []string
	KubeAPIServer    string
	KubeCaFile       string
	KubeTLSServer    string
	KubeInsecure     bool
	PluginsDirectory string
	RegistryConfig   string
	RepositoryConfig string
	RepositoryCache  string
	// ContentCache and Color are Helm 4's $HELM_CONTENT_CACHE
	// (--content-cache) and $HELM_COLOR (--color).
	ContentCache string
	Color        string
	MaxHistory   int
	BurstLimit   int
	QPS          float32
	// Bin is the program path reported as HELM_BIN (os.Args[0]).
	Bin string
}

// FromEnv builds Settings as Helm's cli.New does.
func FromEnv(lookup Lookup) *Settings {
	p := NewPaths(lookup, "")
	get := func(k string) string { v, _ := lookup(k); return v }
	or := func(k, def string) string {
		if v, ok := lookup(k); ok {
			return v
		}
		return def
	}
	s := &Settings{
		Paths:            p,
		Namespace:        get("HELM_NAMESPACE"),
		KubeConfig:       get("KUBECONFIG"),
		KubeContext:      get("HELM_KUBECONTEXT"),
		KubeToken:        get("HELM_KUBETOKEN"),
		KubeAsUser:       get("HELM_KUBEASUSER"),
		KubeAsGroups:     csv(get("HELM_KUBEASGROUPS")),
		KubeAPIServer:    get("HELM_KUBEAPISERVER"),
		KubeCaFile:       get("HELM_KUBECAFILE"),
		KubeTLSServer:    get("HELM_KUBETLS_SERVER_NAME"),
		KubeInsecure:     boolOr(or("HELM_KUBEINSECURE_SKIP_TLS_VERIFY", "false"), false),
		PluginsDirectory: or("HELM_PLUGINS", p.DataPath("plugins")),
		RegistryConfig:   or("HELM_REGISTRY_CONFIG", p.ConfigPath("registry", "config.json")),
		RepositoryConfig: or("HELM_REPOSITORY_CONFIG", p.ConfigPath("repositories.yaml")),
		RepositoryCache:  or("HELM_REPOSITORY_CACHE", p.CachePath("repository")),
		ContentCache:     or("HELM_CONTENT_CACHE", p.CachePath("content")),
		Color:            or("HELM_COLOR", "auto"),
		MaxHistory:       intOr(or("HELM_MAX_HISTORY", ""), DefaultMaxHistory),
		BurstLimit:       intOr(or("HELM_BURST_LIMIT", ""), DefaultBurstLimit),
		QPS:              float32Or(or("HELM_QPS", ""), 0),
	}
	// Helm ignores a HELM_DEBUG it cannot parse.
	s.Debug, _ = strconv.ParseBool(get("HELM_DEBUG"))
	return s
}

// NamespaceOrDefault is the namespace in effect.
func (s *Settings) NamespaceOrDefault() string {
	if s.Namespace != "" {
		return s.Namespace
	}
	return DefaultNamespace
}

// EnvVars returns the variables `helm env` prints.
func (s *Settings) EnvVars() map[string]string {
	m := map[string]string{
		"HELM_BIN":                          s.Bin,
		"HELM_CACHE_HOME":                   s.Paths.CachePath(""),
		"HELM_CONFIG_HOME":                  s.Paths.ConfigPath(""),
		"HELM_DATA_HOME":                    s.Paths.DataPath(""),
		"HELM_DEBUG":                        fmt.Sprint(s.Debug),
		"HELM_PLUGINS":                      s.PluginsDirectory,
		"HELM_REGISTRY_CONFIG":              s.RegistryConfig,
		"HELM_REPOSITORY_CACHE":             s.RepositoryCache,
		"HELM_REPOSITORY_CONFIG":            s.RepositoryConfig,
		"HELM_NAMESPACE":                    s.NamespaceOrDefault(),
		"HELM_MAX_HISTORY":                  strconv.Itoa(s.MaxHistory),
		"HELM_BURST_LIMIT":                  strconv.Itoa(s.BurstLimit),
		"HELM_QPS":                          strconv.FormatFloat(float64(s.QPS), 'f', 2, 32),
		"HELM_KUBECONTEXT":                  s.KubeContext,
		"HELM_KUBETOKEN":                    s.KubeToken,
		"HELM_KUBEASUSER":                   s.KubeAsUser,
		"HELM_KUBEASGROUPS":                 strings.Join(s.KubeAsGroups, ","),
		"HELM_KUBEAPISERVER":                s.KubeAPIServer,
		"HELM_KUBECAFILE":                   s.KubeCaFile,
		"HELM_KUBEINSECURE_SKIP_TLS_VERIFY": strconv.FormatBool(s.KubeInsecure),
		"HELM_KUBETLS_SERVER_NAME":          s.KubeTLSServer,
	}
	if s.KubeConfig != "" {
		m["KUBECONFIG"] = s.KubeConfig
	}
	return m
}

// SortedKeys returns the keys of m in order, as `helm env` lists them.
func SortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// OSLookup is os.LookupEnv.
func OSLookup(k string) (string, bool) { return os.LookupEnv(k) }

func csv(v string) []string {
	v = strings.Trim(v, ", ")
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

func boolOr(v string, def bool) bool {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return def
	}
	return b
}

func intOr(v string, def int) int {
	n, err := strconv.Atoi(v)
	if err != nil {
		return def
	}
	return n
}

func float32Or(v string, def float32) float32 {
	f, err := strconv.ParseFloat(v, 32)
	if err != nil {
		return def
	}
	return float32(f)
}
