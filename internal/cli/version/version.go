// Package version is the client's build information. The type is named
// version.BuildInfo because `helm version` prints it with %#v, and scripts
// parse that output.
package version

import "runtime"

// Set at link time with -ldflags "-X github.com/chartd/chartd/internal/cli/version.version=...".
var (
	version      = "v3.22.0"
	gitCommit    = ""
	gitTreeState = ""
)

// BuildInfo describes the binary.
type BuildInfo struct {
	Version      string `json:"version,omitempty"`
	GitCommit    string `json:"git_commit,omitempty"`
	GitTreeState string `json:"git_tree_state,omitempty"`
	GoVersion    string `json:"go_version,omitempty"`
}

// Get returns the build information.
func Get() BuildInfo {
	return BuildInfo{Version: version, GitCommit: gitCommit, GitTreeState: gitTreeState, GoVersion: runtime.Version()}
}
