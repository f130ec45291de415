package main

import (
	"encoding/json"
	"fmt"
	"io"

	"tekbot/bot"
	"tekbot/handlers"
)

func parseCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("parse", "parse [--source github|slack] < text", stderr)
	source := fs.String("source", "github", "how to read the text: github (a PR comment) or slack (a /tekton command or mention)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	text, err := io.ReadAll(stdin)
	if err != nil {
		return fmt.Errorf("reading stdin: %w", err)
	}
	reg := handlers.NewRegistry(&handlers.Deps{})
	var cmds []bot.Command
	switch *source {
	case "github":
		cmds, _ = reg.ParseComment(string(text))
	case "slack":
		cmds = []bot.Command{}
		if c, ok := reg.ParseSlack(string(text)); ok {
			cmds = append(cmds, c)
		}
	default:
		fmt.Fprintf(stderr, "tekbot parse: --source must be github or slack, not %q\n", *source)
		return exitCode(2)
	}
	enc := json.NewEncoder(stdout)
	return enc.Encode(cmds)
}
