package triage

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Redacted replaces what redaction hides.
const Redacted = "[redacted]"

// minSecret is the shortest Secret value redacted. A value shorter than
// this ("1", "true", "dev") would blank half of every log while protecting
// nothing a guess could not find.
const minSecret = 4

// minEncoded is the shortest piece of a shifted base64 form (see
// secretForms) worth looking for: shorter ones match by chance.
const minEncoded = 8

// shapes are credentials recognised by their form, whoever's they are:
// they are hidden even when tekbot may read no Secret.
var shapes = []*regexp.Regexp{
	// GitHub: classic and fine-grained personal, OAuth, app user,
	// installation and refresh tokens.
	regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})`),
	// Slack: bot, user, app-level, refresh and config tokens, and webhooks.
	regexp.MustCompile(`\bxox[abposre]-[A-Za-z0-9-]{10,}|\bxapp-[A-Za-z0-9-]{10,}|hooks\.slack\.com/services/[A-Za-z0-9/_-]+`),
	// AWS access key IDs, and secret access keys where they are named.
	regexp.MustCompile(`\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b`),
	regexp.MustCompile(`(?i)aws_?secret_?access_?key["']?\s*[:=]\s*["']?[A-Za-z0-9/+]{40}`),
	// Google Cloud API keys, and the private key of a service-account key
	// file (its PEM block, matched below, often printed JSON-escaped).
	regexp.MustCompile(`\bAIza[0-9A-Za-z_-]{35}`),
	regexp.MustCompile(`"private_key"\s*:\s*"[^"]*"?`),
	// Private keys in PEM: the whole block, or from its start to the end of
	// the text when the log was cut inside it.
	regexp.MustCompile(`(?s)-----BEGIN[A-Z ]*PRIVATE KEY( BLOCK)?-----.*?(?:-----END[A-Z ]*PRIVATE KEY( BLOCK)?-----|\z)`),
	// JSON Web Tokens: service-account tokens, OIDC ID tokens.
	regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+`),
	// Credentials in URLs (https://user:token@host) and bearer headers.
	regexp.MustCompile(`://[^/\s:@]+:[^/\s@]+@`),
	regexp.MustCompile(`(?i)\b(?:bearer|basic)\s+[A-Za-z0-9._~+/=-]{16,}`),
}

// redactor hides the values of Secrets and the shapes of credentials in a
// log before any line of it is picked, so that a value split across lines
// (base64 wraps at 76 columns) is hidden in every line it spans.
type redactor struct {
	needles []string
}

// newRedactor looks for every value in values, in each form a log may
// print it (secretForms), and so every part of it a log may print alone
// (parts). Values are Secret data: every key of every Secret the run
// could read.
func newRedactor(values [][]byte) *redactor {
	r := &redactor{}
	for _, v := range values {
		r.needles = append(r.needles, secretForms(string(v))...)
		for _, p := range parts(string(v)) {
			r.needles = append(r.needles, secretForms(p)...)
		}
	}
	// Sorted only to drop duplicates: every match of every form is
	// marked, overlapping or not.
	slices.SortFunc(r.needles, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	r.needles = slices.Compact(r.needles)
	return r
}

// secretForms are the ways a log may print v: as it is; base64 (standard
// and URL alphabets, with and without padding) of v alone and inside a
// longer encoded text (user:token in a basic-auth header), where v's
// encoding depends on its offset mod 3; URL-encoded (query and path); and
// each long line of a multi-line value on its own.
func secretForms(v string) []string {
	v = strings.TrimRight(v, "\r\n")
	if len(v) < minSecret {
		return nil
	}
	forms := []string{v, url.QueryEscape(v), url.PathEscape(v)}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		forms = append(forms, enc.EncodeToString([]byte(v)), enc.WithPadding(base64.NoPadding).EncodeToString([]byte(v)))
		for shift := range 3 {
			// With shift bytes before v, the first 4 characters mix
			// them with v's, and a last partial group mixes v with
			// what follows: look for the characters between.
			e := enc.WithPadding(base64.NoPadding).EncodeToString(append(make([]byte, shift), v...))
			start, end := 0, len(e)-len(e)%4
			if shift > 0 {
				start = 4
			}
			if end-start >= minEncoded {
				forms = append(forms, e[start:end])
			}
		}
	}
	if strings.Contains(v, "\n") {
		for _, line := range strings.Split(v, "\n") {
			if line = strings.TrimSpace(line); len(line) >= minEncoded {
				forms = append(forms, line)
			}
		}
	}
	return forms
}

// Redact returns text with every Secret value and credential shape
// replaced by Redacted. Line breaks are kept, so lines stay lines.
func (r *redactor) Redact(text string) string { return r.redact(text, false) }

// RedactTail is Redact for the end of a log whose start was not read:
// it also hides, at its start, the end of any value that began in the
// lines not read (a value split over lines, as base64 wraps it).
func (r *redactor) RedactTail(text string) string { return r.redact(text, true) }

// maxTail bounds how much of a value's end RedactTail looks for: the
// first lines of a tail, not a whole document.
const maxTail = 4096

func (r *redactor) redact(text string, tail bool) string {
	hide := make([]bool, len(text))
	// Values are searched for in the text without its line breaks, each
	// position mapped back, so a value wrapped over lines is found.
	flat := make([]byte, 0, len(text))
	at := make([]int, 0, len(text))
	for i := 0; i < len(text); i++ {
		if text[i] != '\n' && text[i] != '\r' {
			flat = append(flat, text[i])
			at = append(at, i)
		}
	}
	s := string(flat)
	for _, n := range r.needles {
		for off := 0; ; {
			i := strings.Index(s[off:], n)
			if i < 0 {
				break
			}
			for j := off + i; j < off+i+len(n); j++ {
				hide[at[j]] = true
			}
			off += i + 1
		}
	}
	if tail {
		for _, n := range r.needles {
			if k := sharedEnd(n, s); k >= minEncoded {
				for j := range k {
					hide[at[j]] = true
				}
			}
		}
	}
	for _, re := range shapes {
		for _, m := range re.FindAllStringIndex(text, -1) {
			for j := m[0]; j < m[1]; j++ {
				hide[j] = true
			}
		}
	}
	var b strings.Builder
	for i := 0; i < len(text); {
		if !hide[i] || text[i] == '\n' || text[i] == '\r' {
			b.WriteByte(text[i])
			i++
			continue
		}
		for i < len(text) && hide[i] && text[i] != '\n' && text[i] != '\r' {
			i++
		}
		b.WriteString(Redacted)
	}
	return b.String()
}

// sharedEnd is the length of the longest end of n, shorter than n and at
// most maxTail long, that s starts with.
func sharedEnd(n, s string) int {
	for k := min(len(n)-1, len(s), maxTail); k > 0; k-- {
		if n[len(n)-k:] == s[:k] {
			return k
		}
	}
	return 0
}
