package archy

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

var placeholderRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}`) })

// substitution remembers where a {{name}} was replaced, to give positions in the original file.
type substitution struct {
	line     int
	newStart int // column (1-based) where the value starts in the substituted text
	newEnd   int // column just after the value
	delta    int // original length minus value length
}

// substitute replaces Archy's {{name}} placeholders; an unresolved one is an error naming it.
func substitute(file string, data []byte, values map[string]string) ([]byte, []substitution, []*Diag) {
	var subs []substitution
	var diags []*Diag
	lines := strings.SplitAfter(string(data), "\n")
	var out strings.Builder
	for i, line := range lines {
		var b strings.Builder
		last := 0
		shift := 0
		for _, m := range placeholderRe().FindAllStringSubmatchIndex(line, -1) {
			name := line[m[2]:m[3]]
			v, ok := values[name]
			if !ok {
				diags = append(diags, &Diag{File: file, Line: i + 1, Col: m[0] + 1,
					Msg: fmt.Sprintf("Archy substitution {{%s}} has no value: give it with --set %s=VALUE or in --options", name, name)})
				v = line[m[0]:m[1]]
			}
			b.WriteString(line[last:m[0]])
			start := m[0] + shift
			b.WriteString(v)
			subs = append(subs, substitution{line: i + 1, newStart: start + 1, newEnd: start + len(v) + 1, delta: (m[1] - m[0]) - len(v)})
			shift -= (m[1] - m[0]) - len(v)
			last = m[1]
		}
		b.WriteString(line[last:])
		out.WriteString(b.String())
	}
	return []byte(out.String()), subs, diags
}

// origCol maps a column of the substituted text back to the original file.
func origCol(subs []substitution, line, col int) int {
	acc := 0
	for _, s := range subs {
		if s.line != line {
			continue
		}
		if col >= s.newEnd {
			acc += s.delta
		} else if col >= s.newStart {
			return s.newStart + acc // inside a substituted value: where its placeholder was
		}
	}
	return col + acc
}

// ReadOptions reads the substitutions of an Archy options file (substitutions: {name: value}).
func ReadOptions(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Substitutions map[string]any `yaml:"substitutions"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: not an Archy options file: %v", path, err)
	}
	out := map[string]string{}
	keys := make([]string, 0, len(doc.Substitutions))
	for k := range doc.Substitutions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out[k] = fmt.Sprint(doc.Substitutions[k])
	}
	return out, nil
}
