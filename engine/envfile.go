package engine

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/archflow/archflow/engine/yamldoc"
)

// ReadEnvFile reads KEY=VALUE lines (blank lines and # comments skipped, an optional "export "
// prefix, values optionally quoted), as .env files write them.
func ReadEnvFile(path string) (map[string]string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, &yamldoc.Error{Pos: yamldoc.Pos{File: path}, Severity: yamldoc.SevError, Msg: yamldoc.ReadError(err)}
	}
	defer fh.Close()
	out := map[string]string{}
	// bufio.Scanner would stop at its 64 KiB token limit and drop the rest of the file unseen
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 0, 64<<10), MaxEnvLine+1)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) > MaxEnvLine {
			return nil, &yamldoc.Error{Pos: yamldoc.Pos{File: path, Line: line, Col: 1}, Severity: yamldoc.SevError, Msg: fmt.Sprintf("line longer than %d MiB", MaxEnvLine>>20)}
		}
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		s = strings.TrimPrefix(s, "export ")
		k, v, ok := strings.Cut(s, "=")
		k = strings.TrimSpace(k)
		col := strings.Index(sc.Text(), k) + 1
		if !ok { // the line is not echoed: it may well be a secret
			return nil, &yamldoc.Error{Pos: yamldoc.Pos{File: path, Line: line, Col: col}, Severity: yamldoc.SevError, Msg: "expected KEY=VALUE: this line has no ="}
		}
		if !IsName(k) {
			return nil, &yamldoc.Error{Pos: yamldoc.Pos{File: path, Line: line, Col: col}, Severity: yamldoc.SevError, Msg: fmt.Sprintf("expected KEY=VALUE: %.40q is not a name like [A-Za-z_][A-Za-z0-9_]*", k)}
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
	if err := sc.Err(); err != nil {
		msg := err.Error()
		if errors.Is(err, bufio.ErrTooLong) {
			msg = fmt.Sprintf("line longer than %d MiB", MaxEnvLine>>20)
		}
		return nil, &yamldoc.Error{Pos: yamldoc.Pos{File: path, Line: line + 1, Col: 1}, Severity: yamldoc.SevError, Msg: msg}
	}
	return out, nil
}

// MaxEnvLine is the longest line of an env file (SPEC §11).
const MaxEnvLine = 16 << 20

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
