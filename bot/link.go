package bot

// Link renders name as a Markdown link to url, the way replies name a
// PipelineRun: as code when there is no url (no dashboard). name is an
// object name tekbot read or made, never user text (see UserText).
func Link(name, url string) string {
	if url == "" {
		return "`" + name + "`"
	}
	return "[" + name + "](" + url + ")"
}
