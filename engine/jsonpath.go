package engine

import (
	"fmt"

	"github.com/theory/jsonpath"
)

// JSONPath is jsonpath(value, path[, default]): the RFC 9535 matches of path in value, as a list,
// or default when nothing matches (an empty list when no default is given). Genesys translation
// maps are JSONPath, so imported flows keep theirs as calls of this function.
func JSONPath(value any, path any, def ...any) (any, error) {
	p, ok := path.(string)
	if !ok {
		return nil, fmt.Errorf("jsonpath: the path must be a string, got %s", typeName(path))
	}
	q, err := jsonpath.Parse(p)
	if err != nil {
		return nil, fmt.Errorf("jsonpath: %q: %v", p, err)
	}
	matches := q.Select(value)
	if len(matches) == 0 {
		if len(def) > 0 {
			return def[0], nil
		}
		return []any{}, nil
	}
	return []any(matches), nil
}
