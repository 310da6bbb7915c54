// Command helm is chartd's Helm 3 compatible client.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/chartd/chartd/internal/cli"
	"github.com/chartd/chartd/internal/helmpath"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Main(ctx, os.Args[1:], helmpath.OSLookup, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
