package githubtest

import (
	"fmt"
	"strings"
)

// REST response objects, shaped like GitHub's (field order included) and
// complete with the fields GitHub's description marks required.

const (
	apiBase = "https://api.github.com"
	webBase = "https://github.com"
)

// userJSON is a simple-user.
func userJSON(login, typ string) *object {
	if typ == "" {
		typ = "User"
	}
	id := fakeID(login)
	seg := pathSegment(login)
	u := apiBase + "/users/" + seg
	html := webBase + "/" + login
	if slug, ok := strings.CutSuffix(login, "[bot]"); ok {
		html = webBase + "/apps/" + slug
	}
	return newObject(
		"login", login,
		"id", num(id),
		"node_id", nodeID(fmt.Sprintf("%02d:%s", len(typ), typ), id),
		"avatar_url", fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", id),
		"gravatar_id", "",
		"url", u,
		"html_url", html,
		"followers_url", u+"/followers",
		"following_url", u+"/following{/other_user}",
		"gists_url", u+"/gists{/gist_id}",
		"starred_url", u+"/starred{/owner}{/repo}",
		"subscriptions_url", u+"/subscriptions",
		"organizations_url", u+"/orgs",
		"repos_url", u+"/repos",
		"events_url", u+"/events{/privacy}",
		"received_events_url", u+"/received_events",
		"type", typ,
		"user_view_type", "public",
		"site_admin", false,
	)
}

// repoJSON is a repository as embedded in a pull request's head and base.
func repoJSON(owner, name, ownerType string, private bool, defaultBranch string) *object {
	full := owner + "/" + name
	a := apiBase + "/repos/" + full
	visibility := "public"
	if private {
		visibility = "private"
	}
	id := fakeID("repo:" + strings.ToLower(full))
	return newObject(
		"id", num(id),
		"node_id", nodeID("010:Repository", id),
		"name", name,
		"full_name", full,
		"private", private,
		"owner", userJSON(owner, ownerType),
		"html_url", webBase+"/"+full,
		"description", nil,
		"fork", false,
		"url", a,
		"forks_url", a+"/forks",
		"keys_url", a+"/keys{/key_id}",
		"collaborators_url", a+"/collaborators{/collaborator}",
		"teams_url", a+"/teams",
		"hooks_url", a+"/hooks",
		"issue_events_url", a+"/issues/events{/number}",
		"events_url", a+"/events",
		"assignees_url", a+"/assignees{/user}",
		"branches_url", a+"/branches{/branch}",
		"tags_url", a+"/tags",
		"blobs_url", a+"/git/blobs{/sha}",
		"git_tags_url", a+"/git/tags{/sha}",
		"git_refs_url", a+"/git/refs{/sha}",
		"trees_url", a+"/git/trees{/sha}",
		"statuses_url", a+"/statuses/{sha}",
		"languages_url", a+"/languages",
		"stargazers_url", a+"/stargazers",
		"contributors_url", a+"/contributors",
		"subscribers_url", a+"/subscribers",
		"subscription_url", a+"/subscription",
		"commits_url", a+"/commits{/sha}",
		"git_commits_url", a+"/git/commits{/sha}",
		"comments_url", a+"/comments{/number}",
		"issue_comment_url", a+"/issues/comments{/number}",
		"contents_url", a+"/contents/{+path}",
		"compare_url", a+"/compare/{base}...{head}",
		"merges_url", a+"/merges",
		"archive_url", a+"/{archive_format}{/ref}",
		"downloads_url", a+"/downloads",
		"issues_url", a+"/issues{/number}",
		"pulls_url", a+"/pulls{/number}",
		"milestones_url", a+"/milestones{/number}",
		"notifications_url", a+"/notifications{?since,all,participating}",
		"labels_url", a+"/labels{/name}",
		"releases_url", a+"/releases{/id}",
		"deployments_url", a+"/deployments",
		"created_at", "2024-01-15T09:30:00Z",
		"updated_at", "2024-06-01T12:00:00Z",
		"pushed_at", "2024-06-01T12:00:00Z",
		"git_url", "git://github.com/"+full+".git",
		"ssh_url", "git@github.com:"+full+".git",
		"clone_url", webBase+"/"+full+".git",
		"svn_url", webBase+"/"+full,
		"homepage", nil,
		"size", num(1024),
		"stargazers_count", num(0),
		"watchers_count", num(0),
		"language", "Go",
		"has_issues", true,
		"has_projects", true,
		"has_downloads", true,
		"has_wiki", true,
		"has_pages", false,
		"has_discussions", false,
		"forks_count", num(0),
		"mirror_url", nil,
		"archived", false,
		"disabled", false,
		"open_issues_count", num(1),
		"license", nil,
		"allow_forking", true,
		"is_template", false,
		"web_commit_signoff_required", false,
		"topics", []any{},
		"visibility", visibility,
		"forks", num(0),
		"open_issues", num(1),
		"watchers", num(0),
		"default_branch", defaultBranch,
	)
}

// labelJSON is a label as the REST API returns it.
func labelJSON(full, name string) *object {
	id := fakeID(strings.ToLower(full) + ":label:" + name)
	return newObject(
		"id", num(id),
		"node_id", nodeID("05:Label", id),
		"url", apiBase+"/repos/"+full+"/labels/"+pathSegment(name),
		"name", name,
		"color", labelColor(name),
		"default", false,
		"description", nil,
	)
}
