// Package statuspage serves tekbot's status page, GET /: the build captain
// today and the next two weeks, open pages, the latest run of each
// pipeline on every cluster, recent actions, and what runs where. It is one
// server-rendered html/template page for people who would otherwise ask in
// Slack one question at a time: read-only, no JavaScript, no external
// assets, a strict Content-Security-Policy.
//
// It reads the same stores the bot writes, through the narrow interfaces
// below, each read bounded: one ConfigMap for the rotation's changes and
// one for promotions, the open pages by label, the newest segments of the
// audit ring, and the clusters' PipelineRuns from a snapshot refreshed in
// the background (a namespace may hold tens of thousands of runs).
package statuspage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"tekbot/bot"
	"tekbot/captain/paging"
	"tekbot/promotion"
	"tekbot/schedule"
	"tekbot/state"
	"tekbot/tekton"
)

// Changes reads the rotation's changes made from chat (state.RotationState).
type Changes interface {
	Changes(ctx context.Context) (state.RotationChanges, error)
}

// OpenPages lists the pages waiting for an ack (paging.Store).
type OpenPages interface {
	Open(ctx context.Context) ([]*paging.Page, error)
}

// Actions reads the newest audit records (audit.Ring).
type Actions interface {
	Last(ctx context.Context, n int) ([]bot.Record, error)
}

// Promotions reads the promotion record (promotion.Record).
type Promotions interface {
	Read(ctx context.Context) (*promotion.Book, error)
}

// Clusters are the clusters whose runs are shown (tekton.Clusters).
type Clusters interface {
	All() []*tekton.Cluster
}

// Page is the status page's handler. Every source is optional: a tekbot
// without a rotation or promotions leaves that part out.
type Page struct {
	// Title heads the page; "" means "tekbot".
	Title string
	// Rotation is the configured rotation; Changes adds chat's swaps,
	// covers and days off.
	Rotation   *schedule.Rotation
	Changes    Changes
	Pages      OpenPages
	Clusters   Clusters
	Actions    Actions
	Promotions Promotions
	Flakes     Flakes
	// Token must be given as ?token= or "Authorization: Bearer". The page
	// names private repositories' runs and holds the audit trail: without
	// a Token it answers 404 to everyone, unless Public opens it (to an
	// OAuth proxy in front, or on loopback).
	Token  string
	Public bool
	// RunsMaxAge is how old the runs snapshot may be before a view starts
	// a refresh; zero means 30 seconds. The other stores are read again
	// when their snapshot is older than storesMaxAge.
	RunsMaxAge time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	Log *slog.Logger

	runs   cached[runsSnapshot]
	stores cached[storesSnapshot]

	renderMu sync.Mutex
	rendered struct {
		stores *storesSnapshot
		runs   *runsSnapshot
		html   []byte
	}
}

// How much the page shows, and how long it waits for a slow store.
const (
	shownActions  = 25
	shownPromos   = 10
	calendarDays  = 14
	readTimeout   = 5 * time.Second
	refreshSecond = 60
	storesMaxAge  = 5 * time.Second
)

var (
	//go:embed page.html.tmpl
	pageTemplate string
	//go:embed page.css
	pageCSS string

	tmpl = template.Must(template.New("page").Funcs(template.FuncMap{
		"css":  func() template.CSS { return template.CSS(pageCSS) },
		"time": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
		"iso":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	}).Parse(pageTemplate))

	// The only style is the inline sheet, allowed by its hash; nothing
	// else may load, run, frame the page or be posted from it.
	csp = func() string {
		sum := sha256.Sum256([]byte(pageCSS))
		return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
			"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	}()
)

func (p *Page) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Page) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.New(slog.DiscardHandler)
}

// ServeHTTP renders the page.
func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	// The token may be in the URL: links out must not carry it.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	if !p.Public && p.Token == "" {
		http.NotFound(w, r)
		return
	}
	if !p.allowed(r) {
		h.Set("WWW-Authenticate", `Bearer realm="tekbot"`)
		http.Error(w, "this page needs ?token= or an Authorization: Bearer header", http.StatusUnauthorized)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	defer cancel()
	body, err := p.render(p.snapshots(ctx, p.now()))
	if err != nil {
		p.log().Error("status page: rendering", "err", err)
		http.Error(w, "the status page cannot be shown right now; try again", http.StatusInternalServerError)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(body)
}

// render renders the page, or returns the last rendering if the snapshots
// have not changed since: most views between two refreshes are the same
// page, and then a view costs a pointer comparison. (The page's time and
// today's captain are then as of that rendering: a few seconds old.)
func (p *Page) render(st *storesSnapshot, runs *runsSnapshot) ([]byte, error) {
	p.renderMu.Lock()
	defer p.renderMu.Unlock()
	if st != nil && st == p.rendered.stores && runs == p.rendered.runs {
		return p.rendered.html, nil
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, p.view(st, runs, p.now())); err != nil {
		return nil, err
	}
	p.rendered.stores, p.rendered.runs, p.rendered.html = st, runs, b.Bytes()
	return p.rendered.html, nil
}

// Refresh reads everything the page shows now, and waits for it: for
// tests and the benchmark, which must see what they seeded. (tekbot does
// not: the first view starts the first read.)
func (p *Page) Refresh() {
	now := p.now()
	if p.Clusters != nil {
		p.runs.refresh(now, p.loadRuns)
	}
	p.stores.refresh(now, p.loadStores)
}

func (p *Page) allowed(r *http.Request) bool {
	if p.Public {
		return true
	}
	given := r.URL.Query().Get("token")
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		given = bearer
	}
	return subtle.ConstantTimeCompare([]byte(given), []byte(p.Token)) == 1
}
