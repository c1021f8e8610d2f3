package cli

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCtrlCInterruptsARunAndKeepsItsState runs the real binary, waits until the instance is in
// an hour-long wait, sends SIGINT, and checks the instance ended interrupted with its state
// and that the trace was written out.
func TestCtrlCInterruptsARunAndKeepsItsState(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := buildBinaries(t)
	trace := filepath.Join(dir, "trace.jsonl")
	// the text output shows each step as it happens: send SIGINT once the wait has begun
	cmd := exec.Command(bin, "run", "../../../testdata/e2e/long-wait.yaml", "--trace", trace)
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var output strings.Builder
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pipe)
		sent := false
		for sc.Scan() {
			output.WriteString(sc.Text() + "\n")
			if !sent && strings.Contains(sc.Text(), "wait 1h0m0s") {
				cmd.Process.Signal(syscall.SIGINT)
				sent = true
			}
		}
	}()
	timer := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	<-done
	err = cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if code != 3 {
		t.Fatalf("exit %d (%v), want 3\n%s", code, err, output.String())
	}
	if !strings.Contains(output.String(), "interrupted") || !strings.Contains(output.String(), "stopped at pause") || !strings.Contains(output.String(), `stage="waiting"`) {
		t.Errorf("output does not show the interrupted state:\n%s", output.String())
	}
	data, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var last map[string]any
	json.Unmarshal([]byte(lines[len(lines)-1]), &last)
	if last["event"] != "end" || last["outcome"] != "interrupted" {
		t.Errorf("last trace event = %v, want end/interrupted", last)
	}
}
