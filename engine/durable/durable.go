// Package durable is the Temporal engine as the command line sees it, without the Temporal SDK:
// its defaults, where the server is, and the jobs a command hands it (start a batch, serve flows,
// cancel instances, run a test case). Package engine/temporal implements Engine.
//
// It exists so that the archflow binary does not link the SDK: the SDK's package init (gRPC,
// protobuf descriptors) alone would make every command's start-up several times slower. The
// archflow binary has no Engine and hands Temporal commands to archflow-temporal, which does.
package durable

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/trace"
)

// Defaults of SPEC §10.
const (
	DefaultTaskQueue    = "archflow"
	DefaultAddress      = "127.0.0.1:7233"
	DefaultNamespace    = "default"
	DefaultHistoryLimit = 10000
)

// Address is the server address: addr, else TEMPORAL_ADDRESS, else DefaultAddress.
func Address(addr string) string {
	if addr != "" {
		return addr
	}
	if a := os.Getenv("TEMPORAL_ADDRESS"); a != "" {
		return a
	}
	return DefaultAddress
}

// Server is where a command finds Temporal ("" fields take the defaults).
type Server struct {
	Address   string
	Namespace string
	TaskQueue string
}

// Batch is `run --engine temporal`: one instance per input of one flow version.
type Batch struct {
	Flow     *engine.Flow
	Source   []byte
	MaxSteps int
	Inputs   []map[string]any
	// Concurrency bounds how many workflows are being started at once.
	Concurrency int
	// Keys are the instances' --id-from keys ("" for the instance id), one per input.
	Keys []string
	// Detach returns once every instance has started: their results read "running".
	Detach bool
}

// Worker is `archflow worker`: serve the flows under Paths until stop is closed.
type Worker struct {
	Components   *engine.Registry
	Paths        []string
	Env          func(string) (string, bool)
	StateDir     string
	HistoryLimit int
	// Tracer, when set, sees what this worker runs.
	Tracer trace.Tracer
	// Record, when set, is the directory of the cassettes of instances that end here.
	Record string
	// Stderr receives the worker's progress lines.
	Stderr io.Writer
}

// Engine runs flows on Temporal.
type Engine interface {
	// RunBatch starts one instance per input (attaching to those whose workflow exists) and,
	// unless detached, reports each result as it ends, one at a time. It returns how many
	// inputs were never started and the error that stopped the starts.
	RunBatch(ctx context.Context, at Server, b Batch, report func(r *engine.Result, inputs map[string]any)) (notStarted int, err error)
	// Serve runs a worker until stop is closed.
	Serve(at Server, w Worker, stop <-chan any) error
	// Cancel cancels the workflows of ids and returns those it does not know.
	Cancel(ctx context.Context, at Server, ids []string) (unknown []string, err error)
	// TestRun runs one test case on an in-process Temporal test environment.
	TestRun(ctx context.Context, f *engine.Flow, inputs map[string]any, opts *engine.Options) *engine.Result
}

// Unreachable is the error of a server that cannot be dialled.
type Unreachable struct {
	Address string
	Err     error
}

func (e *Unreachable) Error() string {
	return fmt.Sprintf("cannot reach Temporal at %s: %v", e.Address, e.Err)
}

func (e *Unreachable) Unwrap() error { return e.Err }

// Invalid is the error of flows that a worker cannot serve (exit code 2).
type Invalid struct{ Err error }

func (e *Invalid) Error() string { return e.Err.Error() }

func (e *Invalid) Unwrap() error { return e.Err }
