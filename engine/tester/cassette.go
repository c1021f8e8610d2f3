package tester

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/cassette"
	"github.com/archflow/archflow/engine/scripted"
	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/engine/yamldoc"
)

// loadCassette reads a case's cassette: FILE (relative to the test file); its errors join the
// test file's, at their own file:line:col.
func loadCassette(d *yamldoc.Decoder, f *File, n *yaml.Node) *cassette.Cassette {
	p, ok := d.String(n)
	if !ok {
		return nil
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(f.Path), p)
	}
	c, errs := cassette.ReadFile(p)
	if c == nil {
		d.Errorf(n, "cassette %s does not load (%d error(s), listed with their positions)", p, len(errs.Errors()))
		d.Errs = append(d.Errs, errs...)
	}
	return c
}

var matchKeys = []string{"method", "url", "body"}

// decodeMatch reads match: [method, url, body]; method and url are always compared.
func decodeMatch(d *yamldoc.Decoder, n *yaml.Node) bool {
	items, ok := d.List(n)
	if !ok {
		return false
	}
	body := false
	for _, it := range items {
		s, ok := d.String(it)
		if !ok {
			continue
		}
		if !slices.Contains(matchKeys, s) {
			d.Errorf(it, "unknown match key %q%s (method, url, body)", s, yamldoc.DidYouMean(s, matchKeys))
		}
		body = body || s == "body"
	}
	return body
}

// CheckCassette reports interactions of actions, auth entries or channels flow does not have:
// a cassette of another flow, or a renamed action.
func CheckCassette(flow *engine.Flow, c *cassette.Cassette) yamldoc.ErrorList {
	var errs yamldoc.ErrorList
	var known []string
	for name := range flow.Actions {
		known = append(known, name)
	}
	for name := range flow.Auth {
		known = append(known, transport.AuthPrefix+name)
	}
	for name := range flow.Channels {
		known = append(known, transport.NotifyPrefix+name)
	}
	slices.Sort(known)
	for _, it := range c.Interactions {
		if it.Action == "" || slices.Contains(known, it.Action) {
			continue
		}
		what := "action"
		switch {
		case strings.HasPrefix(it.Action, transport.AuthPrefix):
			what = "auth entry"
		case strings.HasPrefix(it.Action, transport.NotifyPrefix):
			what = "channel"
		}
		errs.Add(it.Pos, "interaction %d: flow %s has no %s %q%s", it.Index, flow.Name, what, it.Action, yamldoc.DidYouMean(it.Action, known))
	}
	return errs
}

// playedCalls are the requests a cassette answered, as requests expectations read them (raw:
// assertions compare raw values, SPEC §11).
func playedCalls(p *cassette.Player) []scripted.Call {
	var out []scripted.Call
	for _, s := range p.Sent() {
		if s.Notification || s.Raw == nil {
			continue
		}
		r := s.Raw
		out = append(out, scripted.Call{Action: r.Action, Node: r.Node, Attempt: r.Attempt, Method: r.Method, URL: r.URL,
			Header: r.Header.Clone(), Body: bytes.Clone(r.Body)})
	}
	return out
}
