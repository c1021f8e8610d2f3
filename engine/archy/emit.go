package archy

import (
	"fmt"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// resolve follows aliases to the node they stand for.
func resolve(n *node) *node {
	for i := 0; n != nil && n.kind == "alias"; i++ {
		if i > 1000 {
			return nil
		}
		n = n.next
	}
	return n
}

// emit writes the flow: only nodes reachable from start (or on_error), named in the order they
// were made (which is Architect's order), with stable key order throughout.
func (t *translator) emit() []byte {
	start, onErr := resolve(t.start), resolve(t.onError)
	reach := map[*node]bool{}
	var walk func(n *node)
	walk = func(n *node) {
		n = resolve(n)
		if n == nil || reach[n] {
			return
		}
		reach[n] = true
		walk(n.next)
		walk(n.def)
		walk(n.onFailure)
		walk(n.onTimeout)
		for _, c := range n.cases {
			walk(c.next)
		}
	}
	walk(start)
	walk(onErr)
	taken := map[string]bool{}
	var nodes []*node
	for _, n := range t.nodes {
		if !reach[n] {
			continue
		}
		base := validName(n.base, n.kind)
		name := base
		for i := 2; taken[name]; i++ {
			name = fmt.Sprintf("%s_%d", base, i)
		}
		taken[name] = true
		n.name = name
		nodes = append(nodes, n)
	}
	usedActions := map[string]bool{}
	for _, n := range nodes {
		if n.kind == "data_action" {
			usedActions[n.action] = true
		}
	}

	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Imported by `archflow import archy` from %s (Architect workflow %s).\n", filepath.Base(t.file), yamlString(t.flowName))
	w("# Node names are Architect's action names, so a trace reads like the Architect flow.\n")
	for _, note := range t.notes {
		w("# %s\n", note)
	}
	w("flow: %s\n", yamlString(t.flowName))
	if t.desc != "" {
		w("description: %s\n", yamlString(t.desc))
	}
	w("\nvariables:\n")
	for _, v := range t.variables {
		w("  %s: {type: %s", v.name, v.typ)
		if v.input {
			w(", input: true")
		}
		if v.def != "" {
			w(", default: %s", v.def)
		}
		if v.output {
			w(", output: true")
		}
		w("}\n")
	}
	genesys := false
	for _, name := range t.actOrder {
		genesys = genesys || (usedActions[name] && t.actions[name].auth == GenesysAuth)
	}
	if genesys {
		w("\n# Genesys Cloud Platform API: GENESYS_API (https://api.mypurecloud.com for us-east-1),\n")
		w("# GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET of an OAuth client-credentials grant.\n")
		w("auth:\n  %s:\n", GenesysAuth)
		w("    type: oauth2_client_credentials\n")
		w("    token_url: %s\n", yamlString("{{ env('GENESYS_TOKEN_URL', replace(env('GENESYS_API'), '://api.', '://login.') + '/oauth/token') }}"))
		w("    client_id: %s\n", yamlString("{{ env('GENESYS_CLIENT_ID') }}"))
		w("    client_secret: %s\n", yamlString("{{ secret('GENESYS_CLIENT_SECRET') }}"))
	}
	if len(usedActions) > 0 {
		w("\nactions:\n")
	}
	for _, name := range t.actOrder {
		if !usedActions[name] {
			continue
		}
		a := t.actions[name]
		w("  %s:\n", name)
		if a.source != "" {
			w("    description: %s\n", yamlString(a.source))
		}
		w("    method: %s\n", a.method)
		w("    url: %s\n", yamlString(a.url))
		writePairs(&b, "query", a.query)
		writePairs(&b, "headers", a.headers)
		if a.hasBody {
			if len(a.fields) > 0 || a.bodyRaw == "" {
				w("    body:")
				if len(a.fields) == 0 {
					w(" {}\n")
				} else {
					w("\n")
				}
				for _, f := range a.fields {
					w("      %s: %s\n", yamlKey(f.Name), yamlString(f.Expr))
				}
			} else {
				w("    body: %s\n", yamlString(a.bodyRaw))
			}
		}
		if a.auth != "" {
			w("    auth: %s\n", a.auth)
		}
		if a.timeout != "" {
			w("    timeout: %s\n", a.timeout)
		}
		if a.success != "" {
			w("    success: %s\n", yamlString(a.success))
		}
		if len(a.outputs) > 0 {
			w("    outputs:\n")
			for _, o := range a.outputs {
				w("      %s: %s\n", o[0], yamlString(o[1]))
			}
		}
	}
	w("\nstart: %s\n", start.name)
	if onErr != nil {
		w("on_error: %s\n", onErr.name)
	}
	w("\nnodes:\n")
	for _, n := range nodes {
		w("  %s:", n.name)
		if n.line > 0 {
			c := n.base
			if n.comment != "" {
				c = n.comment
			}
			w("  # %s, line %d", strings.ReplaceAll(c, "\n", " "), n.line)
		}
		w("\n")
		switch n.kind {
		case "assign":
			w("    assign:\n")
			for _, s := range n.sets {
				w("      %s: %s\n", s[0], s[1])
			}
			w("    next: %s\n", resolve(n.next).name)
		case "decision":
			w("    decision:\n")
			for _, c := range n.cases {
				w("      - when: %s\n        next: %s\n", yamlString(c.when), resolve(c.next).name)
			}
			w("    default: %s\n", resolve(n.def).name)
		case "data_action":
			w("    data_action: %s\n", n.action)
			w("    next: %s\n", resolve(n.next).name)
			fail := resolve(n.onFailure)
			w("    on_failure: %s\n", fail.name)
			if to := resolve(n.onTimeout); to != nil && to != fail {
				w("    on_timeout: %s\n", to.name)
			}
		case "wait":
			if n.trim {
				w("    wait: {for: %s, trim: true}\n", n.waitFor)
			} else {
				w("    wait: %s\n", n.waitFor)
			}
			w("    next: %s\n", resolve(n.next).name)
		case "end":
			w("    end: %s\n", n.outcome)
		}
	}
	return []byte(b.String())
}

func writePairs(b *strings.Builder, key string, ps [][2]string) {
	if len(ps) == 0 {
		return
	}
	fmt.Fprintf(b, "    %s:\n", key)
	for _, p := range ps {
		fmt.Fprintf(b, "      %s: %s\n", yamlKey(p[0]), yamlString(p[1]))
	}
}

// yamlKey writes a mapping key: the same rules as a string value.
func yamlKey(s string) string { return yamlString(s) }

// checkRoutes reports routes that lead nowhere: a state or task whose actions only change to
// itself never reaches an action, which no flow can express.
func (t *translator) checkRoutes(at *yaml.Node) {
	bad := false
	check := func(n *node) {
		if n != nil && resolve(n) == nil {
			bad = true
		}
	}
	check(t.start)
	for _, n := range t.nodes {
		check(n.next)
		check(n.def)
		check(n.onFailure)
		check(n.onTimeout)
		for _, c := range n.cases {
			check(c.next)
		}
	}
	if bad {
		t.errorf(at, "a state changes to itself before any action runs: the flow would never end")
	}
}
