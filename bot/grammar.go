// Package bot is tekbot's core, shared by every transport: the command
// grammar, the registry of commands with their help, identity and policy, and
// the dispatcher that authorises, runs and audits a command. Transports (in
// transport/github, and the sandbox's terminal driver) only verify, deduplicate and decode;
// handlers (in package handlers) only act. Nobody else reads command text.
package bot

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Command is one command as written by a user: a verb and its arguments.
type Command struct {
	Verb string   `json:"verb"`
	Args []string `json:"args"`
}

func (c Command) String() string {
	return strings.TrimSpace(c.Verb + " " + strings.Join(c.Args, " "))
}

func (c Command) equal(o Command) bool {
	return c.Verb == o.Verb && slices.Equal(c.Args, o.Args)
}

// Namespace is the verb that prefixes tekbot's own commands in a PR comment
// ("/tekbot help"), like the /tekton slash command does in Slack.
const Namespace = "tekbot"

// verbRE is what a verb may look like. Anything else, including look-alike
// Unicode and invisible characters, makes the line not a command.
var verbRE = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// ParseComment reads the commands in a GitHub comment body the way Prow and
// Pipelines-as-Code do: a command is a line starting with "/verb", at most
// three spaces in (four make a Markdown code block). Lines in fenced code
// blocks and quoted lines ("> /retest") are not commands, nor is a command
// mentioned mid-sentence. Verbs not in the registry belong to other bots and
// are skipped. Each distinct command counts once, in order, up to
// MaxCommentCommands; ignored counts the distinct commands beyond them.
func (r *Registry) ParseComment(body string) (cmds []Command, ignored int) {
	return r.parseComment(body, nil)
}

// ParseClosedComment is ParseComment for a closed PR, where only the
// commands that run on merged PRs are read: they alone count towards
// MaxCommentCommands, so ten others cannot crowd them out.
func (r *Registry) ParseClosedComment(body string) (cmds []Command, ignored int) {
	return r.parseComment(body, func(s *Spec) bool { return s.OnMerged })
}

// parseComment reads the commands of body whose Spec keep accepts (all,
// if keep is nil).
func (r *Registry) parseComment(body string, keep func(*Spec) bool) (cmds []Command, ignored int) {
	cmds = []Command{}
	beyond := map[string]struct{}{}
	var fence string
	for line := range strings.Lines(body) {
		line = strings.TrimRight(line, "\r\n")
		trimmed := strings.TrimLeft(line, " ")
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]) == "" {
				fence = ""
			}
			continue
		}
		if f := fenceOpener(trimmed); f != "" && len(line)-len(trimmed) < 4 {
			fence = f
			continue
		}
		if len(line)-len(trimmed) >= 4 || !strings.HasPrefix(trimmed, "/") {
			continue
		}
		cmd, ok := splitCommand(trimmed[1:])
		if !ok {
			continue
		}
		prefixed := cmd.Verb == Namespace
		if prefixed {
			if len(cmd.Args) == 0 {
				cmd = Command{Verb: "help", Args: []string{}}
			} else {
				cmd = Command{Verb: strings.ToLower(cmd.Args[0]), Args: cmd.Args[1:]}
			}
		}
		spec := r.Lookup(cmd.Verb)
		if spec == nil || !spec.Offered(GitHub) || (spec.Prefixed && !prefixed) || (keep != nil && !keep(spec)) {
			continue
		}
		cmd.Verb = spec.Verb
		cmd.Args = spec.splitArgs(cmd.Args)
		switch {
		case slices.ContainsFunc(cmds, cmd.equal):
		case len(cmds) == MaxCommentCommands:
			beyond[cmd.String()] = struct{}{}
		default:
			cmds = append(cmds, cmd)
		}
	}
	return cmds, len(beyond)
}

// MaxCommentCommands bounds the commands one comment runs: GitHub's 65,536
// characters hold thousands of command lines, and each command run costs
// an audit record, an Event, API calls and perhaps a rerun.
const MaxCommentCommands = 10

// IgnoredCommands tells, in a reply, that a comment's command lines beyond
// MaxCommentCommands were not run.
func IgnoredCommands(n int) string {
	return fmt.Sprintf("tekbot runs at most %d commands per comment; the other %d were ignored.", MaxCommentCommands, n)
}

// fenceOpener returns the fence (``` or ~~~, three or more) a line opens.
func fenceOpener(line string) string {
	for _, c := range []string{"`", "~"} {
		n := len(line) - len(strings.TrimLeft(line, c))
		if n >= 3 {
			return strings.Repeat(c, n)
		}
	}
	return ""
}

// splitCommand splits "verb arg arg" into a command with a lower-case verb.
// "/ retest" is prose, not a command: the verb follows the slash.
func splitCommand(text string) (Command, bool) {
	if r, _ := utf8.DecodeRuneInString(text); unicode.IsSpace(r) {
		return Command{}, false
	}
	fields := strings.FieldsFunc(text, unicode.IsSpace)
	if len(fields) == 0 {
		return Command{}, false
	}
	verb := strings.ToLower(fields[0])
	if !verbRE.MatchString(verb) {
		return Command{}, false
	}
	return Command{Verb: verb, Args: append([]string{}, fields[1:]...)}, true
}

var (
	// Slack escapes links and mentions: <https://x|label>, <@U123|name>.
	slackLinkRE    = regexp.MustCompile(`<((?:https?|mailto):[^|>]+)(?:\|[^>]*)?>`)
	slackMentionRE = regexp.MustCompile(`<([@#][A-Z0-9]+)(?:\|[^>]*)?>`)
	// The old build-captain bot answered "who is the build captain ?".
	whoIsCaptainRE = regexp.MustCompile(`(?i)^who(?:'s| is)? (?:the )?build[- ]?captain\b`)
)

// ParseSlack reads the text of a "/tekton …" slash command or of a message
// that mentions the bot. It returns the one command the text holds. Unlike
// comments, an unknown verb is returned as it is: Slack text is addressed to
// tekbot, so the user deserves a helpful answer rather than silence. ok is
// false only for empty text.
func (r *Registry) ParseSlack(text string) (cmd Command, ok bool) {
	text = slackMentionRE.ReplaceAllString(text, "<$1>")
	text = strings.TrimSpace(text)
	// A mention of the bot comes first in app_mention events.
	if strings.HasPrefix(text, "<@") {
		if i := strings.Index(text, ">"); i > 0 {
			text = strings.TrimSpace(text[i+1:])
		}
	}
	if whoIsCaptainRE.MatchString(text) {
		return Command{Verb: "captain", Args: []string{}}, true
	}
	text = slackLinkRE.ReplaceAllString(text, "$1")
	text = strings.TrimPrefix(text, "/")
	fields := strings.FieldsFunc(text, unicode.IsSpace)
	if len(fields) == 0 {
		return Command{}, false
	}
	cmd = Command{Verb: strings.ToLower(fields[0]), Args: append([]string{}, fields[1:]...)}
	if spec := r.Lookup(cmd.Verb); spec != nil {
		cmd.Verb = spec.Verb
		cmd.Args = spec.splitArgs(cmd.Args)
	}
	return cmd, true
}

// splitArgs reads a list of names the way people write one: "a, b", "a,b"
// and "a b" are the same two names. key=value arguments are kept whole.
func (s *Spec) splitArgs(args []string) []string {
	if !s.ListArgs {
		return args
	}
	out := []string{}
	for _, a := range args {
		if strings.Contains(a, "=") {
			out = append(out, a)
			continue
		}
		for n := range strings.SplitSeq(a, ",") {
			if n != "" {
				out = append(out, n)
			}
		}
	}
	return out
}
