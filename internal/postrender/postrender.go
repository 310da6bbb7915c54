// Package postrender is Helm's post-rendering step: the rendered manifests
// of a release go through a program of the user's before they are printed
// or applied.
package postrender

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
)

// Renderer changes a release's rendered manifests.
type Renderer interface {
	Run(ctx context.Context, manifests []byte) ([]byte, error)
}

// Exec runs an executable with the manifests on its stdin and takes what
// it writes on stdout, as Helm 3's --post-renderer does.
type Exec struct {
	Path string
	Args []string
}

// NewExec finds the executable as Helm does: a bare name in $PATH, a path
// as given (made absolute).
func NewExec(path string, args ...string) (*Exec, error) {
	p, err := exec.LookPath(path)
	if err != nil {
		return nil, fmt.Errorf("unable to find binary at %s: %w", path, err)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, err
	}
	return &Exec{Path: abs, Args: args}, nil
}

// Run implements Renderer; a failure carries the program's stderr, in
// Helm's words.
func (e *Exec) Run(ctx context.Context, manifests []byte) ([]byte, error) {
	cmd := exec.CommandContext(ctx, e.Path, e.Args...)
	cmd.Stdin = bytes.NewReader(manifests)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		// %v: helm exits 1 whatever the program's exit code.
		return nil, fmt.Errorf("error while running command %s. error output:\n%s: %v", e.Path, errOut.String(), err)
	}
	return out.Bytes(), nil
}
