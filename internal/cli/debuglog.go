package cli

import (
	"context"
	"io"
	"log/slog"
)

// newLogger is the client's logger: text on stderr without timestamps, as
// Helm 4 logs, at debug level with --debug or HELM_DEBUG, else warnings only
// (Helm 3 prints no informational logs).
func newLogger(w io.Writer, debug bool) *slog.Logger {
	level := slog.LevelWarn
	if debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// locateInstallChart is locateChart for install, upgrade and template, with
// the debug lines Helm 4 logs around it.
func locateInstallChart(ctx context.Context, env *Env, opts *ChartPathOptions, ref string) (string, error) {
	env.Logger.Debug("Original chart version", "version", opts.Version)
	if opts.Version == "" && opts.Devel {
		env.Logger.Debug("setting version to >0.0.0-0")
	}
	p, err := locateChart(ctx, env, opts, ref)
	if err != nil {
		return "", err
	}
	env.Logger.Debug("Chart path", "path", p)
	return p, nil
}
