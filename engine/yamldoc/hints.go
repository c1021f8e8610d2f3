package yamldoc

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// This file turns the YAML mistakes people make when writing flows by hand into errors that say
// where the mistake is and what to write instead. yaml.v3 reports a parser error at the line
// before the problem (its marks are 0-based) or at the start of the enclosing block, always
// without a column, so the source around the reported line is rescanned for the real place.

// YAMLSyntaxError gives a YAML syntax error the file:line:col form, at the place in data where
// the mistake is, with the fix for the common ones.
func YAMLSyntaxError(file string, data []byte, err error) *Error {
	e := yamlError(file, err)
	if data == nil {
		return e
	}
	msg := strings.TrimPrefix(e.Msg, "invalid YAML: ")
	lines := strings.Split(string(data), "\n")
	reported := e.Pos.Line
	// find looks for the first line from..to (1-based, inclusive) where at returns a column.
	find := func(from, to int, at func(string) int) (int, int, bool) {
		from = max(from, 1)
		for l := from; l <= to && l <= len(lines); l++ {
			if c := at(lines[l-1]); c > 0 {
				return l, c, true
			}
		}
		return 0, 0, false
	}
	set := func(line, col int, hint string) *Error {
		e.Pos.Line, e.Pos.Col = line, col
		if hint != "" {
			e.Msg += ": " + hint
		}
		return e
	}
	switch {
	case strings.Contains(msg, "cannot start any token") || strings.Contains(msg, "tab character"):
		if l, c, ok := find(reported-1, reported+1, tabColumn); ok {
			return set(l, c, "tabs are not allowed in YAML: indent with spaces")
		}
	case strings.Contains(msg, "did not find expected ',' or '}'"):
		if l, c, ok := find(reported, reported+3, flowQuestionColumn); ok {
			return set(l, c, fmt.Sprintf("in a flow mapping {...} a ? starts a key: quote the expression, write %s", quoteYAML(flowValueAt(lines[l-1], c))))
		}
	case strings.Contains(msg, "did not find expected key") || strings.Contains(msg, "did not find expected '-' indicator"):
		if l, c, ok := find(reported, len(lines), unquotedTemplateColumn); ok {
			return set(l, c, fmt.Sprintf("a template must be quoted: write %s", quoteYAML(strings.TrimSpace(stripComment(lines[l-1][c-1:])))))
		}
		if l, c, want, ok := misindented(lines, reported); ok {
			return set(l, c, fmt.Sprintf("this line is indented %d spaces: indent it %d, like the lines above it", c-1, want))
		}
	case strings.Contains(msg, "unexpected end of stream"):
		if l, c, ok := find(reported, len(lines), unclosedQuoteColumn); ok {
			return set(l, c, "this quoted string is never closed")
		}
	}
	// the parser's marks are 0-based: the problem is on the next line
	if isParserError(msg) && reported < len(lines) {
		e.Pos.Line = reported + 1
	}
	if e.Pos.Line >= 1 && e.Pos.Line <= len(lines) {
		e.Pos.Col = firstNonBlank(lines[e.Pos.Line-1])
	}
	return e
}

func isParserError(msg string) bool {
	return strings.HasPrefix(msg, "did not find expected") && !strings.Contains(msg, "comment or line break")
}

func firstNonBlank(line string) int {
	for i, r := range line {
		if r != ' ' && r != '\t' {
			return i + 1
		}
	}
	return 1
}

func tabColumn(line string) int {
	if i := strings.IndexByte(line, '\t'); i >= 0 {
		return i + 1
	}
	return 0
}

// flowQuestionColumn finds a ? inside an unquoted {...} on the line.
func flowQuestionColumn(line string) int {
	depth := 0
	var quote byte
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
			}
		case ch == '"' || ch == '\'':
			quote = ch
		case ch == '#' && (i == 0 || line[i-1] == ' '):
			return 0
		case ch == '{':
			depth++
		case ch == '}':
			depth--
		case ch == '?' && depth > 0:
			return i + 1
		}
	}
	return 0
}

// flowValueAt is the plain value around column col of a flow mapping: from after ": " or ","
// up to the next "," or "}".
func flowValueAt(line string, col int) string {
	start := col - 1
	for start > 0 && line[start-1] != ' ' && line[start-1] != ',' && line[start-1] != '{' {
		start--
	}
	end := col - 1
	for end < len(line) && line[end] != ',' && line[end] != '}' {
		end++
	}
	return strings.TrimSpace(line[start:end])
}

var unquotedTemplateRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?:^|:|-)\s+(\{\{)`) })

// unquotedTemplateColumn finds a value that starts with an unquoted {{ and goes on after its
// }}: the shape YAML cannot read (`url: {{ x }}/orders`). A value that is only `{{ x }}` reads
// as a mapping, and UnquotedTemplates reports it.
func unquotedTemplateColumn(line string) int {
	line = stripComment(line)
	m := unquotedTemplateRe().FindStringSubmatchIndex(line)
	if m == nil {
		return 0
	}
	rest := line[m[2]:]
	end := strings.Index(rest, "}}")
	if end < 0 || strings.TrimSpace(rest[end+2:]) == "" {
		return 0
	}
	return m[2] + 1
}

func stripComment(line string) string {
	if i := strings.Index(line, " #"); i >= 0 {
		return line[:i]
	}
	return line
}

// quoteYAML writes s as a YAML string that needs no escapes where possible.
func quoteYAML(s string) string {
	switch {
	case !strings.Contains(s, `"`):
		return `"` + s + `"`
	case !strings.Contains(s, `'`):
		return `'` + s + `'`
	}
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

// UnquotedTemplates finds values YAML read as nested flow mappings because a template was not
// quoted: `n: {{ n + 1 }}` is the mapping {{n + 1: null}: null}. Each is reported at its place
// with the quoted form, and replaced by the string it was meant to be, so that the rest of the
// file is checked as if it had been quoted (and no second, puzzling error follows).
func UnquotedTemplates(file string, data []byte, root *yaml.Node) ErrorList {
	lines := strings.Split(string(data), "\n")
	var errs ErrorList
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil {
			return
		}
		if isUnquotedTemplate(n) {
			text := templateText(lines, n)
			errs.Add(PosOf(file, n), "a template must be quoted: write %s", quoteYAML(text))
			*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: text, Style: yaml.DoubleQuotedStyle, Line: n.Line, Column: n.Column}
			return
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(root)
	return errs
}

// isUnquotedTemplate: a flow mapping whose single key is itself a flow mapping, with no value.
func isUnquotedTemplate(n *yaml.Node) bool {
	if n.Kind != yaml.MappingNode || n.Style&yaml.FlowStyle == 0 || len(n.Content) != 2 {
		return false
	}
	k, v := n.Content[0], n.Content[1]
	return k.Kind == yaml.MappingNode && k.Style&yaml.FlowStyle != 0 && v.Kind == yaml.ScalarNode && v.Tag == "!!null" && v.Value == ""
}

// templateText is the source text of the unquoted template at n: from its {{ to the matching }}.
func templateText(lines []string, n *yaml.Node) string {
	if n.Line < 1 || n.Line > len(lines) {
		return "{{ ... }}"
	}
	line := lines[n.Line-1]
	start := n.Column - 1
	if start < 0 || start >= len(line) {
		return "{{ ... }}"
	}
	rest := line[start:]
	if i := strings.Index(rest, "}}"); i >= 0 {
		return rest[:i+2]
	}
	return "{{ ... }}"
}

// unclosedQuoteColumn finds a " that opens a string not closed on its line.
func unclosedQuoteColumn(line string) int {
	open := -1
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && open >= 0:
			i++
		case line[i] == '"':
			if open >= 0 {
				open = -1
			} else {
				open = i
			}
		case line[i] == '#' && open < 0 && (i == 0 || line[i-1] == ' '):
			return 0
		}
	}
	return open + 1
}

// misindented finds the first line, from line `from` on, whose indentation fits no block: less
// than the block it is in but not as deep as any block that encloses it, or deeper than the line
// before it when that line opens no block. It returns the line, its column and the indentation
// the line most likely meant. Block scalars (|, >) and flow collections over several lines are
// skipped.
func misindented(lines []string, from int) (line, col, want int, ok bool) {
	stack := []int{0}
	opens := false // the previous line ends with ":": the next may be deeper
	scalarAt := -1 // inside a block scalar started at this indentation
	depth := 0     // open { and [ of a flow collection over several lines
	for i, raw := range lines {
		t := strings.TrimLeft(raw, " ")
		n := len(raw) - len(t)
		if t == "" || strings.HasPrefix(t, "#") || strings.HasPrefix(t, "---") {
			continue
		}
		if scalarAt >= 0 {
			if n > scalarAt {
				continue
			}
			scalarAt = -1
		}
		if depth > 0 {
			depth += flowDepth(t)
			continue
		}
		top := stack[len(stack)-1]
		switch {
		case n > top:
			if !opens && i+1 >= from {
				return i + 1, n + 1, top, true
			}
			stack = append(stack, n)
		case n < top:
			popped := top
			for len(stack) > 1 && stack[len(stack)-1] > n {
				popped = stack[len(stack)-1]
				stack = stack[:len(stack)-1]
			}
			if stack[len(stack)-1] != n {
				if i+1 >= from {
					return i + 1, n + 1, popped, true
				}
				stack = append(stack, n)
			}
		}
		body := strings.TrimSpace(stripComment(t))
		if strings.HasPrefix(body, "- ") { // a list item: its mapping is indented past the dash
			item := n + 2
			body = strings.TrimSpace(body[2:])
			if stack[len(stack)-1] < item && strings.Contains(body, ": ") {
				stack = append(stack, item)
			}
		}
		if f := strings.Fields(body); len(f) > 0 && (strings.HasPrefix(f[len(f)-1], "&") || strings.HasPrefix(f[len(f)-1], "!")) {
			body = strings.TrimSpace(strings.TrimSuffix(body, f[len(f)-1])) // an anchor or tag before a block
			opens = body == "" || strings.HasSuffix(body, ":") || body == "-"
		} else {
			opens = strings.HasSuffix(body, ":") || body == "-"
		}
		if strings.HasSuffix(body, "|") || strings.HasSuffix(body, ">") || strings.HasSuffix(body, "|-") ||
			strings.HasSuffix(body, ">-") || strings.HasSuffix(body, "|+") || strings.HasSuffix(body, ">+") {
			scalarAt = n
		}
		depth = flowDepth(body)
	}
	return 0, 0, 0, false
}

// flowDepth counts the { and [ a line opens minus those it closes, outside quotes.
func flowDepth(s string) int {
	d := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '{' || c == '[':
			d++
		case c == '}' || c == ']':
			d--
		}
	}
	return max(d, 0)
}
