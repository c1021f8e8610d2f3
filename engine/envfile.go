package engine

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/archflow/archflow/engine/yamldoc"
)

// ReadEnvFile reads KEY=VALUE lines (blank lines and # comments skipped, an optional "export "
// prefix, values optionally quoted), as .env files write them.
func ReadEnvFile(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &yamldoc.Error{Pos: yamldoc.Pos{File: path}, Severity: yamldoc.SevError, Msg: yamldoc.ReadError(err)}
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		s = strings.TrimPrefix(s, "export ")
		k, v, ok := strings.Cut(s, "=")
		k = strings.TrimSpace(k)
		if !ok || !nameRe.MatchString(k) {
			return nil, &yamldoc.Error{Pos: yamldoc.Pos{File: path, Line: line, Col: 1}, Severity: yamldoc.SevError, Msg: fmt.Sprintf("expected KEY=VALUE, got %q", s)}
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"') {
			if u, err := strconv.Unquote(v); err == nil {
				v = u
			}
		} else if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			v = v[1 : len(v)-1]
		} else if i := strings.Index(v, " #"); i >= 0 {
			v = strings.TrimSpace(v[:i])
		}
		out[k] = v
	}
	return out, nil
}

// EnvChain looks names up in each map in turn, then in the process environment.
func EnvChain(layers ...map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		for _, l := range layers {
			if v, ok := l[name]; ok {
				return v, true
			}
		}
		return os.LookupEnv(name)
	}
}
