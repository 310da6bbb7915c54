// Command chartd is a Helm chart registry: a drop-in ChartMuseum API and an
// OCI distribution-spec registry over one content-addressed store.
//
//	chartd [flags]          serve
//	chartd import [flags]   adopt charts from a ChartMuseum storage layout, then exit
//	chartd --version        print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/chartd/chartd/server"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "chartd:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) > 0 && (args[0] == "version" || slices.Contains(args, "--version") || slices.Contains(args, "-version")) {
		fmt.Println("chartd", server.Version)
		return nil
	}
	cmd := "serve"
	if len(args) > 0 && (args[0] == "import" || args[0] == "serve") {
		cmd, args = args[0], args[1:]
	}
	cfg := server.DefaultConfig()
	if err := cfg.Parse(args, os.Getenv); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	// Lines are batched under load; Close writes the last ones before exit.
	lw := server.NewLogWriter(os.Stderr)
	defer lw.Close()
	log := cfg.NewLogger(lw)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cmd == "import" {
		st, err := server.OpenStores(ctx, &cfg, log)
		if err != nil {
			return err
		}
		defer st.Close()
		s, _, err := server.NewWithStores(cfg, st, log)
		if err != nil {
			return err
		}
		n, err := s.Import(ctx)
		fmt.Printf("adopted %d chart versions\n", n)
		return err
	}
	return server.Run(ctx, cfg, log)
}
