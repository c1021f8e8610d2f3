package yamldoc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"
)

// Limits on files archflow reads from users (SPEC §11, untrusted files), named once.
const (
	// MaxFileSize is the largest flow, test or mock file read.
	MaxFileSize = 16 << 20
	// MaxAliasNodes is how many nodes YAML aliases may add to a document beyond its own: far more
	// than any real flow reuses, far less than an alias bomb ("billion laughs") expands to.
	MaxAliasNodes = 100_000
)

// ReadUserFile reads a flow, test or mock file, refusing one above MaxFileSize without reading it
// whole.
func ReadUserFile(path string) ([]byte, *Error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, &Error{Pos: Pos{File: path}, Severity: SevError, Msg: ReadError(err)}
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, MaxFileSize+1))
	if err != nil {
		return nil, &Error{Pos: Pos{File: path}, Severity: SevError, Msg: ReadError(err)}
	}
	if len(data) > MaxFileSize {
		return nil, &Error{Pos: Pos{File: path}, Severity: SevError, Msg: fmt.Sprintf("file is larger than %d MiB: refused", MaxFileSize>>20)}
	}
	return data, nil
}

// DecodeYAML parses the first YAML document of data into its document node, with the limits of
// untrusted files: at most MaxFileSize bytes, and aliases that expand it by at most MaxAliasNodes
// nodes. yaml.v3 keeps aliases as pointers, so the check is cheap; decoding or walking an
// unchecked tree is what would expand a bomb.
func DecodeYAML(file string, data []byte) (*yaml.Node, ErrorList) {
	if len(data) > MaxFileSize {
		return nil, ErrorList{{Pos: Pos{File: file}, Severity: SevError, Msg: fmt.Sprintf("file is larger than %d MiB: refused", MaxFileSize>>20)}}
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, ErrorList{YAMLSyntaxError(file, data, err)}
	}
	if e := CheckAliases(file, &doc, MaxAliasNodes); e != nil {
		return nil, ErrorList{e}
	}
	return &doc, nil
}

// CheckAliases reports the alias at which the document would grow by more than limit nodes if
// its aliases were expanded, or an alias that contains itself. Each anchor's expanded size is
// computed once, so the check is linear in the document's own size.
func CheckAliases(file string, doc *yaml.Node, limit int64) *Error {
	a := aliasSizer{memo: map[*yaml.Node]int64{}, limit: limit}
	added := int64(0)
	var walk func(n *yaml.Node) *Error
	walk = func(n *yaml.Node) *Error {
		if n == nil {
			return nil
		}
		if n.Kind == yaml.AliasNode {
			size, cyclic := a.size(n.Alias)
			if cyclic {
				return &Error{Pos: PosOf(file, n), Severity: SevError, Msg: fmt.Sprintf("alias *%s refers to a node that contains it", n.Value)}
			}
			added += size
			if added > limit {
				return &Error{Pos: PosOf(file, n), Severity: SevError, Msg: fmt.Sprintf("aliases expand this file beyond %d nodes (an alias bomb?): refused at alias *%s", limit, n.Value)}
			}
			return nil
		}
		for _, c := range n.Content {
			if e := walk(c); e != nil {
				return e
			}
		}
		return nil
	}
	return walk(doc)
}

type aliasSizer struct {
	memo  map[*yaml.Node]int64
	limit int64
}

const sizing = -1 // memo mark of a node whose size is being computed: reaching it again is a cycle

// size is the number of nodes n expands to, saturated just above the limit.
func (a *aliasSizer) size(n *yaml.Node) (int64, bool) {
	if n == nil {
		return 0, false
	}
	// Only anchored nodes can be reached twice (through their aliases), so only they are memoized.
	anchored := n.Anchor != ""
	if anchored {
		if s, ok := a.memo[n]; ok {
			return s, s == sizing
		}
		a.memo[n] = sizing
	}
	total := int64(1)
	if n.Kind == yaml.AliasNode {
		s, cyclic := a.size(n.Alias)
		if cyclic {
			return 0, true
		}
		total = s
	}
	for _, c := range n.Content {
		s, cyclic := a.size(c)
		if cyclic {
			return 0, true
		}
		total += s
		if total > a.limit {
			total = a.limit + 1
		}
	}
	if anchored {
		a.memo[n] = total
	}
	return total, false
}
