package handlers_test

import (
	"strings"
	"testing"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/handlers"
	"tekbot/tekton"
)

// declare gives the world's bot the commands, as a config would.
func (w *world) declare(cmds ...config.Command) { w.declareWith(nil, cmds...) }

// declareWith is declare with more dependencies, set by with.
func (w *world) declareWith(with func(*handlers.Deps), cmds ...config.Command) {
	w.t.Helper()
	w.cfg.Commands = cmds
	w.build(with)
}

func (w *world) commandRuns(cluster, ns, verb string) int {
	w.t.Helper()
	return len(w.list(cluster, ns, tekton.LabelCommand+"="+verb))
}

func TestDeclaredSlackCommands(t *testing.T) {
	t.Parallel()
	w := newWorld(t, monday)
	projects := []config.CommandArg{{Name: "project", Enum: []string{"pipeline", "triggers"}}}
	w.declare(
		config.Command{
			Verb: "nightly", Help: "start a project's nightly release now", On: config.OnSlack, Args: projects,
			Cluster: "nightly", PipelineRef: "{{.Args.project}}-release",
			Params: map[string]string{"releaseMode": "nightly", "imageRegistryPath": "ghcr.io/tektoncd/{{.Args.project}}"},
			Allow:  []string{"maintainers"},
		},
		config.Command{
			Verb: "redeploy", Help: "redeploy a project on dogfooding", On: config.OnSlack, Args: projects,
			Cluster: "dogfooding", PipelineRef: "redeploy", Params: map[string]string{"project": "{{.Args.project}}"},
			Allow: []string{"maintainers"},
		},
	)
	steps := []struct {
		person, text string
		confirmed    bool
		id           string
		outcome      bot.Outcome
		contains     string
		nightly      int // nightly runs after the step
		redeploys    int // redeploy runs on dogfooding after the step
	}{
		{"andrea", "nightly pipeline", false, "n1", bot.Done, "andrea started `/tekton nightly pipeline` (Pipeline pipeline-release) on cluster nightly", 1, 0},
		{"andrea", "nightly pipeline", false, "n1", bot.Noop, "Already started for this request", 1, 0},
		{"andrea", "nightly pipelines", false, "n2", bot.Refused, "pipelines is not a valid project: it must be one of pipeline, triggers", 1, 0},
		{"andrea", "nightly", false, "n3", bot.Refused, "`nightly` needs `<project>`. Usage: `/tekton nightly <project>`", 1, 0},
		{"sam", "nightly triggers", false, "n4", bot.Denied, "Who may: maintainers (andrea, vincent, jerop, dibyo)", 1, 0},
		{"vincent", "redeploy triggers", false, "r1", bot.Pending, "on cluster *dogfooding*. Run it?", 1, 0},
		{"vincent", "redeploy triggers", true, "r1", bot.Done, "started `/tekton redeploy triggers`", 1, 1},
		{"vincent", "redeploy triggers", true, "r1", bot.Noop, "Already started", 1, 1},
		{"andrea", "nightlly pipeline", false, "n5", bot.Refused, "Did you mean `nightly <project>`", 1, 1},
	}
	for i, st := range steps {
		r := w.slack(st.person, st.text, st.confirmed, st.id)
		nightly, redeploys := w.commandRuns("nightly", w.nightlyNS, "nightly"), w.commandRuns("dogfooding", w.pNS, "redeploy")
		if r.Outcome != st.outcome || !strings.Contains(r.Text, st.contains) || nightly != st.nightly || redeploys != st.redeploys {
			t.Fatalf("step %d, %s: %q → %s %q, runs %d/%d; want %s containing %q, runs %d/%d",
				i, st.person, st.text, r.Outcome, r.Text, nightly, redeploys, st.outcome, st.contains, st.nightly, st.redeploys)
		}
		if st.outcome == bot.Pending && r.Confirm == nil {
			t.Fatalf("step %d: production asks with a confirm button", i)
		}
	}
	help := w.slack("andrea", "help", false, "h")
	if !strings.Contains(help.Text, "| `/tekton nightly <project>` | start a project's nightly release now |") {
		t.Errorf("help lacks the declared command:\n%s", help.Text)
	}
	if help := w.slack("sam", "help", false, "h2"); strings.Contains(help.Text, "nightly") {
		t.Errorf("help shows sam a command sam may not run:\n%s", help.Text)
	}
}
