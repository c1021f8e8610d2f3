package cli

import (
	"bytes"
	"testing"

	"github.com/archflow/archflow/nodes"
)

// A command line that names a subcommand builds only that one (start-up time); what it prints
// and its exit code must be what the whole tree gives.
func TestOneSubcommandTreeIsTheWholeTree(t *testing.T) {
	reg := nodes.Builtins()
	lines := [][]string{{"--help"}, {"--no-such-flag"}, {"validate"}, {"validate", "--no-such-flag"},
		{"validate", "no-such-file.yaml"}, {"import", "archy", "--help"}, {"schema", "nope"}, {"graph"},
		{"run", "--clock", "sundial", "x.yaml"}, {"test", "--help", "extra"}}
	for _, c := range commands {
		lines = append(lines, []string{c.name, "--help"})
		// and it is the short way (what start-up time is about): one command, the one named
		sub := newCommandLine(reg, &durableSeam{}, []string{c.name}).Commands()
		if len(sub) != 1 || sub[0].Name() != c.name {
			t.Errorf("%s: the command line has %d commands", c.name, len(sub))
		}
	}
	for _, args := range lines {
		var wantOut, wantErr, gotOut, gotErr bytes.Buffer
		want := runCommand(newRootCmd(reg, &durableSeam{args: args}), args, &wantOut, &wantErr)
		got := Execute(reg, nil, args, &gotOut, &gotErr)
		if got != want || gotOut.String() != wantOut.String() || gotErr.String() != wantErr.String() {
			t.Errorf("%q: exit %d, stdout\n%s\nstderr\n%s\nthe whole tree: exit %d, stdout\n%s\nstderr\n%s",
				args, got, gotOut.String(), gotErr.String(), want, wantOut.String(), wantErr.String())
		}
		if gotOut.Len()+gotErr.Len() == 0 {
			t.Errorf("%q printed nothing", args)
		}
	}
}
