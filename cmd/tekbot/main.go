// Command tekbot is a chat-ops bot for teams that run CI/CD on Tekton: it
// turns GitHub PR comments and Slack commands into Tekton actions, and names
// the daily build captain.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `tekbot — Tekton chat-ops: PR comments and Slack commands to Tekton actions.

Usage:
  tekbot dev [--as NAME] [--fresh] [--data DIR] [--run-time D]
                                         a local sandbox: real apiservers, sample data, a stand-in
                                         Tekton controller; drive the bot from the terminal
                                         (no credentials; 'tekbot dev -h' for more)
  tekbot serve -f tekbot.yaml            run the bot (webhooks, /healthz, /readyz, and the status page at /:
                                         closed unless server.statusToken or server.statusPublic is set);
                                         /readyz is 503 until the run indexes have synced; a part that
                                         cannot go on stops serve with exit status 1
  tekbot config check -f tekbot.yaml     validate a config and print what it says
  tekbot parse [--source github|slack]   print, as JSON, the commands in text on stdin
  tekbot schedule -f tekbot.yaml [--from YYYY-MM-DD] [--days N] [--csv]
                                         print the build-captain duty days
  tekbot schedule -names a,b,c -start-date D [-start-name b] [-days N] [-overrides f.csv]
                                         print what Tekton's generate-rotation-csv prints
  tekbot audit -f tekbot.yaml [-n N]     the last N audit records, from the cluster (audit ring and Events)
  tekbot help                            this text

Run 'tekbot COMMAND -h' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	var exit exitCode
	switch {
	case errors.As(err, &exit):
		os.Exit(int(exit))
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintln(os.Stderr, "tekbot:", err)
		os.Exit(1)
	}
}

// exitCode ends the program with a status after the command has already
// explained itself (e.g. config check listing every problem).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitCode(2)
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "serve":
		return serveCommand(ctx, args[1:], stderr)
	case "dev":
		return devCommand(ctx, args[1:], stdin, stdout, stderr)
	case "config":
		if len(args) < 2 || args[1] != "check" {
			fmt.Fprint(stderr, "usage: tekbot config check -f tekbot.yaml\n")
			return exitCode(2)
		}
		return configCheckCommand(args[2:], stdout, stderr)
	case "parse":
		return parseCommand(args[1:], stdin, stdout, stderr)
	case "schedule":
		return scheduleCommand(args[1:], stdout, stderr)
	case "audit":
		return auditCommand(ctx, args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "tekbot: unknown command %q\n\n%s", args[0], usage)
		return exitCode(2)
	}
}

func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: tekbot %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}
