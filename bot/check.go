package bot

// Check is a check run tekbot posts on a commit, such as tekbot/hold: a
// completed run whose conclusion GitHub's branch protection and merge
// queue read (anything but success, neutral or skipped blocks a merge).
type Check struct {
	Name       string
	Conclusion string // "success", "action_required", "failure", …
	// DetailsURL is where the check sends people; GitHub requires one
	// for action_required.
	DetailsURL string
	Title      string
	Summary    string
}
