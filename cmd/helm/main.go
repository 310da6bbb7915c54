// Command helm is chartd's Helm 3 compatible client.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/chartd/chartd/internal/cli"
	"github.com/chartd/chartd/internal/helmpath"
)

func main() {
	// SIGTERM too, as Helm 3's install and upgrade: a CI job cancelled
	// or a pod stopped records the operation failed instead of leaving
	// it pending.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], helmpath.OSLookup, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
