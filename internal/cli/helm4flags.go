package cli

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/chartd/chartd/internal/helmpath"
)

// bindHelm4Flags adds Helm 4's global flags, accepted alongside Helm 3's
// and hidden so that help reads as Helm 3's: --content-cache (where
// downloads are kept by digest, see contentCache) and --color/--colour.
func bindHelm4Flags(f *pflag.FlagSet, s *helmpath.Settings) {
	f.StringVar(&s.ContentCache, "content-cache", s.ContentCache, "path to the directory containing cached content (e.g. charts)")
	f.StringVar(&s.Color, "color", s.Color, "use colored output (never, auto, always)")
	f.StringVar(&s.Color, "colour", s.Color, "use colored output (never, auto, always)")
	for _, n := range []string{"content-cache", "color", "colour"} {
		_ = f.MarkHidden(n)
	}
}

// checkColorFlag accepts Helm 4's color modes on --color (Helm 4 lets a
// bad $HELM_COLOR pass). This client writes no colors: its output is
// Helm 3's, which has none, whatever the mode.
func checkColorFlag(f *pflag.FlagSet, mode string) error {
	if !f.Changed("color") && !f.Changed("colour") {
		return nil
	}
	switch mode {
	case "never", "auto", "always":
		return nil
	}
	return fmt.Errorf("invalid color mode %q: must be one of: never, auto, always", mode)
}
