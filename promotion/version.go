package promotion

import (
	"fmt"
	"regexp"
	"tekbot/bot"
	"time"
)

// Kind is what a version tag names.
type Kind string

// The kinds of tag Tekton releases: a nightly build, or a release.
const (
	Nightly Kind = "nightly"
	Release Kind = "release"
)

// NightlyWord asks for the newest nightly release that succeeded.
const NightlyWord = "nightly"

var (
	// The tags are matched whole, with ASCII classes only, so anything
	// else (shell syntax, quotes, spaces, look-alike Unicode) is refused
	// before it reaches a param, a file or a URL.
	nightlyRE = regexp.MustCompile(`^v([0-9]{8})-([0-9a-f]{7,10})$`)
	releaseRE = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)
	// A tag that starts like a nightly gets a precise complaint.
	nightlyishRE = regexp.MustCompile(`^v([0-9]{8})-`)
	projectRE    = regexp.MustCompile(`^[a-z][a-z0-9-]{0,29}$`)
)

// maxVersionLen keeps a tag usable as a label value.
const maxVersionLen = 63

const versionForms = "a nightly `vYYYYMMDD-<commit>` (7 to 10 lower-case hex digits), a release `vMAJOR.MINOR.PATCH[-pre]`, or `nightly`"

// CheckVersion says which kind of tag v is, or why it is none. Errors are
// refusals: they quote v escaped, so what the user typed is shown as it is.
func CheckVersion(v string) (Kind, error) {
	if len(v) <= maxVersionLen {
		if m := nightlyRE.FindStringSubmatch(v); m != nil {
			if _, err := time.Parse("20060102", m[1]); err != nil {
				return "", refuse("%+q is not a nightly tag: %s is not a date (YYYYMMDD).", v, m[1])
			}
			return Nightly, nil
		}
		if releaseRE.MatchString(v) {
			return Release, nil
		}
		if nightlyishRE.MatchString(v) {
			return "", refuse("%+q is not a nightly tag: after the date comes the commit, 7 to 10 lower-case hex digits.", v)
		}
	}
	return "", refuse("%s is not a version: use %s.", bot.UserText(fmt.Sprintf("%+q", v)), versionForms)
}

// CheckProject refuses what cannot be a project: it names a pipeline
// (<project>-release) and labels.
func CheckProject(p string) error {
	if !projectRE.MatchString(p) {
		return refuse("%s is not a project name (like `pipeline` or `triggers`).", bot.UserText(fmt.Sprintf("%+q", p)))
	}
	return nil
}

// nightlyDate is the build date in a nightly tag, which sorts as text.
func nightlyDate(tag string) string {
	if m := nightlyRE.FindStringSubmatch(tag); m != nil {
		return m[1]
	}
	return ""
}

// nightlyCommit is the commit's hex in a nightly tag.
func nightlyCommit(tag string) string {
	if m := nightlyRE.FindStringSubmatch(tag); m != nil {
		return m[2]
	}
	return ""
}

// Refusal is a gate saying no. Its message is for the person who asked;
// any other error is a failure on our side or a cluster's.
type Refusal struct {
	Msg string
	// Denied: the caller may not do this, as opposed to "not now" or
	// "not this version".
	Denied bool
}

func (r *Refusal) Error() string { return r.Msg }

func refuse(format string, args ...any) error {
	return &Refusal{Msg: fmt.Sprintf(format, args...)}
}
