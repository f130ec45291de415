// Command controlplane builds kube-apiserver and etcd into tekbot's cache,
// once, and prints the folder holding them on its last line; progress goes
// to stderr. test/run.sh runs it before the tests so a first build shows
// its progress:
//
//	TEKBOT_CONTROLPLANE_BIN=$(go run ./localcluster/cmd/controlplane)
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"tekbot/localcluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := localcluster.BinDir(ctx, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "controlplane:", err)
		os.Exit(1)
	}
	fmt.Println(dir)
}
