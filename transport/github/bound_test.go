package github_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"tekbot/audit"
	"tekbot/bot"
	"tekbot/state"
	"tekbot/test/githubtest"
	"tekbot/test/kube"
	"tekbot/test/testenv"
)

// TestOneCommentDoesBoundedWork: a 62 KB comment of 4,500 distinct
// "/retest x…" lines runs ten of them and replies once, saying the rest
// were ignored; from someone who may not /retest, it is denied in one
// audit record (in the durable ring, and one Event) listing its verb, not
// 4,500 that would flush the ring.
func TestOneCommentDoesBoundedWork(t *testing.T) {
	t.Parallel()
	var body strings.Builder
	for i := range 4500 {
		fmt.Fprintf(&body, "/retest x%04d\n", i)
	}
	if body.Len() < 62_000 {
		t.Fatalf("the comment is %d bytes", body.Len())
	}
	tests := []struct {
		name, login, permission string
		records                 int
		denied                  bool
	}{
		{"a maintainer", maintainer, "write", bot.MaxCommentCommands, false},
		{"a stranger", "drive-by", "read", 1, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.seed("unit-tests", kube.Failed, false)
			e.gh.SetPermission(owner, repoName, tt.login, tt.permission)
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			ring := &audit.Ring{ConfigMaps: state.ConfigMapsIn(e.cluster.Kube, e.ns), Log: log}
			ctx, stop := context.WithCancel(context.Background())
			ringDone := make(chan struct{})
			go func() { ring.Run(ctx); close(ringDone) }()
			o := e.options()
			o.Audit = &audit.EventAuditor{State: audit.EventsIn(e.cluster.Kube), Namespace: e.ns, Ring: ring, Log: log}
			r := testenv.NewReplica(t, o)

			payload := githubtest.PRComment(t, githubtest.PRCommentOptions{
				Body: body.String(), CommentID: int64(7700 + i), Commenter: tt.login, CommenterType: "User",
				AuthorAssociation: "NONE", Number: prNumber, State: "open", PRAuthor: contributor,
				Owner: owner, Repo: repoName, Labels: []string{},
			})
			if code, msg := r.Deliver(t, "issue_comment", "flood-"+tt.login, payload); code != http.StatusAccepted {
				t.Fatalf("%d %s", code, msg)
			}
			r.Drain(t)
			stop() // the ring writes what it holds, then returns
			<-ringDone

			records, err := ring.Last(context.Background(), 10_000)
			if err != nil {
				t.Fatal(err)
			}
			if len(records) != tt.records {
				t.Fatalf("%d audit records, want %d", len(records), tt.records)
			}
			for _, rec := range records {
				if rec.Verb != "retest" || (rec.Outcome == bot.Denied) != tt.denied {
					t.Errorf("audit record: %s", rec.Summary())
				}
			}
			events, err := audit.LastRecords(context.Background(), audit.EventsIn(e.cluster.Kube), e.ns, 10_000)
			if err != nil {
				t.Fatal(err)
			}
			if tt.denied && len(events) != 1 {
				t.Errorf("%d audit Events for a denied comment, want 1", len(events))
			}
			replies := e.gh.Comments(owner, repoName, prNumber)
			if len(replies) != 1 || !strings.Contains(replies[0].Body, "the other 4490 were ignored") {
				t.Fatalf("want one reply saying the other 4490 were ignored, got %d: %v", len(replies), replies)
			}
			if got := reruns(e.runs()); len(got) != 0 {
				t.Errorf("reruns of runs no line named: %v", keys(got))
			}
		})
	}
}
