package yamldoc

import (
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// ParseYAML parses one YAML document and returns its top mapping node.
func ParseYAML(file string, data []byte) (*yaml.Node, ErrorList) {
	doc, errs := DecodeYAML(file, data)
	if doc == nil {
		return nil, errs
	}
	if len(doc.Content) == 0 {
		return nil, ErrorList{{Pos: Pos{File: file, Line: 1, Col: 1}, Severity: SevError, Msg: "empty file"}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, ErrorList{{Pos: PosOf(file, root), Severity: SevError, Msg: "expected a mapping at the top of the file"}}
	}
	return root, UnquotedTemplates(file, data, root)
}

var yamlLineRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: line (\d+): (.*)$`) })

func yamlError(file string, err error) *Error {
	msg := err.Error()
	line := 1
	if m := yamlLineRe().FindStringSubmatch(msg); m != nil {
		fmt.Sscan(m[1], &line)
		msg = m[2]
	}
	return &Error{Pos: Pos{File: file, Line: line, Col: 1}, Severity: SevError, Msg: "invalid YAML: " + msg}
}

// ValueType names what a YAML node holds (mapping, list, scalar, null) the way errors say it.
func ValueType(n *yaml.Node) string { return valueType(n) }

func valueType(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return "scalar"
	}
	return "value"
}

// ReadError says why a file could not be read, briefly.
func ReadError(err error) string {
	if os.IsNotExist(err) {
		return "no such file"
	}
	return err.Error()
}

// ParseDuration accepts a Go duration ("90s", "1m30s") or a number of seconds ("2.5"). A value
// beyond what time.Duration holds saturates and comes with ErrDurationRange.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if math.IsInf(f, 0) && !errors.Is(err, strconv.ErrRange) { // "Inf", "infinity"
			return 0, fmt.Errorf("%q is not a number of seconds", s)
		}
		return DurationOfSeconds(f)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		if d, rerr, ok := durationOverflow(s); ok {
			return d, rerr
		}
		return 0, fmt.Errorf("%q is neither a number of seconds nor a duration like 90s or 1m30s", s)
	}
	return d, nil
}
