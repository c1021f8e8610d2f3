package archy

import (
	"fmt"
	"os"
	"strings"

	"github.com/archflow/archflow/engine/archy/dataaction"
)

// MaxFileSize bounds the Archy files an import reads, as flow files are bounded (SPEC §11).
const MaxFileSize = 16 << 20

// Sources are what an import reads besides the workflow: Archy's substitutions (an options file
// and NAME=VALUE pairs, the pairs winning) and directories (or files) of data action exports.
type Sources struct {
	OptionsFile    string
	Sets           []string
	DataActionDirs []string
}

// ImportFile reads an Archy file and its sources and translates them. problems lists, as
// file:line:col: message, every place that cannot be translated (nothing is to be written
// then); err is a file that cannot be read or an argument that is malformed.
func ImportFile(file string, src Sources) (res *Result, problems []string, err error) {
	if st, err := os.Stat(file); err == nil && st.Size() > MaxFileSize {
		return nil, nil, fmt.Errorf("%s: %d bytes is more than an Archy file may hold (%d)", file, st.Size(), MaxFileSize)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", file, err)
	}
	values := map[string]string{}
	if src.OptionsFile != "" {
		if values, err = ReadOptions(src.OptionsFile); err != nil {
			return nil, nil, err
		}
	}
	for _, s := range src.Sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, nil, fmt.Errorf("--set %q: write NAME=VALUE", s)
		}
		values[k] = v
	}
	opts := Options{Set: values}
	for _, d := range src.DataActionDirs {
		xs, probs := dataaction.LoadDir(d)
		opts.Exports = append(opts.Exports, xs...)
		for _, p := range probs {
			problems = append(problems, p.Error())
		}
	}
	res, diags := Import(file, data, opts)
	for _, d := range diags {
		problems = append(problems, d.Error())
	}
	return res, problems, nil
}
