package triage

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// minPart is the shortest piece of a structured Secret value redacted on
// its own: a document's fields hold short words ("true", "v1", "Config")
// that must not blank the log. Passwords named as such are redacted from
// minSecret.
const minPart = 8

// userinfo is a URL's user:password@, as .git-credentials and
// Tekton's credential init (~/.git-credentials) write them.
var userinfo = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://([^/\s:@]+):([^/\s@]+)@`)

// parts are the pieces of a Secret value a log may print on their own:
// Tekton's credential init copies a .dockerconfigjson to ~/.docker and
// basic-auth Secrets to ~/.git-credentials, and a tool that fails prints
// a field, not the file. They are every string of a JSON or YAML
// document (a kubeconfig's token), a docker "auth" decoded (user:pass)
// and its password, each value of a k=v or k: v line, a .netrc's login
// and password, and the password of a URL with userinfo.
func parts(v string) []string {
	var out []string
	add := func(min int, ps ...string) {
		for _, p := range ps {
			if p = strings.TrimSpace(p); len(p) >= min && p != v {
				out = append(out, p)
			}
		}
	}
	strs, passwords := documentStrings(v)
	add(minPart, strs...)
	add(minSecret, passwords...)
	for _, line := range strings.Split(v, "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "export "))
		if k, val, ok := strings.Cut(line, "="); ok && !strings.ContainsAny(k, " \t:/") {
			add(minPart, strings.Trim(val, `"' `))
		}
		if k, val, ok := strings.Cut(line, ": "); ok && !strings.ContainsAny(k, " \t") {
			add(minPart, strings.Trim(val, `"' `))
		}
	}
	// .netrc: "machine h login u password p", on one line or many.
	fields := strings.Fields(v)
	for i := 0; i+1 < len(fields); i++ {
		switch fields[i] {
		case "login", "account":
			add(minPart, fields[i+1])
		case "password":
			add(minSecret, fields[i+1])
		}
	}
	for _, m := range userinfo.FindAllStringSubmatch(v, -1) {
		add(minSecret, m[2])
		if p, err := url.PathUnescape(m[2]); err == nil {
			add(minSecret, p, m[1]+":"+p)
		}
	}
	return out
}

// documentStrings are the scalar values (not the keys) of v parsed as
// YAML, JSON included, and for each docker "auth" its decoded user:pass
// and password; nothing when v is not a document (a map or list).
func documentStrings(v string) (strs, passwords []string) {
	if !utf8.ValidString(v) {
		return nil, nil
	}
	var w docWalk
	dec := yaml.NewDecoder(strings.NewReader(v))
	for {
		var doc yaml.Node
		if dec.Decode(&doc) != nil {
			return w.strs, w.passwords
		}
		if len(doc.Content) > 0 && doc.Content[0].Kind != yaml.ScalarNode {
			w.walk(&doc, "")
		}
	}
}

// docWalk collects a document's scalars.
type docWalk struct{ strs, passwords []string }

// walk reads n, the value of mapping key key. Aliases are not followed:
// what they name is read where it is defined.
func (w *docWalk) walk(n *yaml.Node, key string) {
	switch n.Kind {
	case yaml.ScalarNode:
		w.strs = append(w.strs, n.Value)
		if key == "auth" {
			if raw, err := base64.StdEncoding.DecodeString(n.Value); err == nil {
				if _, pass, ok := bytes.Cut(raw, []byte(":")); ok {
					w.strs = append(w.strs, string(raw))
					w.passwords = append(w.passwords, string(pass))
				}
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			w.walk(n.Content[i+1], n.Content[i].Value)
		}
	default:
		for _, c := range n.Content {
			w.walk(c, "")
		}
	}
}
