package temporal

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/workflow"
	"gopkg.in/yaml.v3"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/cassette"
	"github.com/archflow/archflow/engine/transport"
)

// Recording on Temporal (worker --record DIR): the exchanges of an instance are made by
// activities, on any worker of the queue, so each attempt and delivery writes what it sent and
// received, redacted there with the restored instance's redactor (no secret leaves the worker),
// as a part under DIR/.parts/<instance>/. When the instance ends, workflow code on the worker
// that ends it joins the parts with what the workflow knows (inputs, start, uuids, seed, result:
// nothing secret) into DIR/<instance id>.cassette.yaml. Nothing of this enters history, so a
// recording worker and one that does not record replay the same histories; workers recording
// one queue share DIR.

// partsDir is where the parts of an instance wait for its end.
func partsDir(dir, instance string) string {
	return filepath.Join(dir, ".parts", url.PathEscape(instance))
}

// recordStep wraps opts for recording the step of st when this worker records; save writes the
// part (nil when it does not record). delivery names the notification of a Deliver step.
func (a *Activities) recordStep(opts *engine.Options) (*engine.Options, func(ctx context.Context, st *engine.State, delivery *DeliverInput, err error)) {
	if a.Record == "" {
		return opts, nil
	}
	rec := cassette.NewRecorder(nil)
	var inst *engine.Instance
	base := *opts
	base.Started = func(in *engine.Instance) { inst = in }
	o := rec.Options(&base)
	save := func(ctx context.Context, st *engine.State, delivery *DeliverInput, err error) {
		if inst == nil || ctx.Err() != nil {
			return // the step never began, or was interrupted: it is done again
		}
		items := rec.Cassette(&engine.Result{Redactor: inst.Redactor()}).Interactions
		if delivery != nil {
			items = deliveryItems(items, st, delivery, err)
		}
		if len(items) == 0 {
			return
		}
		if werr := writePart(ctx, a.Record, st.ID, items); werr != nil {
			activity.GetLogger(ctx).Error("archflow worker --record: writing a recorded part", "error", werr)
		}
	}
	return o, save
}

// deliveryItems makes a delivery's exchanges one notify.<channel> interaction with its result,
// as a local recording has it (token requests stay before it).
func deliveryItems(items []*cassette.Interaction, st *engine.State, d *DeliverInput, err error) []*cassette.Interaction {
	it := &cassette.Interaction{Action: transport.NotifyPrefix + d.Notification.Channel, Node: d.Node, At: st.Now, Result: cassette.Delivered}
	var out []*cassette.Interaction
	for _, x := range items {
		if x.IsDelivery() {
			it.Attempt, it.Request, it.Response, it.Error = x.Attempt, x.Request, x.Response, x.Error
			continue
		}
		out = append(out, x)
	}
	if err != nil {
		it.Result, it.Message = cassette.Failed, err.Error() // redacted by RunDelivery
	}
	return append(out, it)
}

// writePart writes a step's interactions where the instance's end will find them, named so that
// they sort in the order the steps were scheduled; written whole, then renamed into place.
func writePart(ctx context.Context, dir, instance string, items []*cassette.Interaction) error {
	pd := partsDir(dir, instance)
	if err := os.MkdirAll(pd, 0o700); err != nil {
		return err
	}
	info := activity.GetInfo(ctx)
	seq := info.ActivityID // the workflow's command sequence: padded, so "10" sorts after "9"
	if len(seq) < 10 {
		seq = strings.Repeat("0", 10-len(seq)) + seq
	}
	name := fmt.Sprintf("%020d-%s-%s.yaml", info.ScheduledTime.UnixNano(), url.PathEscape(info.WorkflowExecution.RunID), url.PathEscape(seq))
	data, err := yaml.Marshal(items)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(pd, ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(pd, name))
}

// writeCassette joins the parts of an ended instance into its cassette. It runs in workflow code
// but makes no command, and only when not replaying: a workflow task done again (on any worker)
// finds the cassette written and the parts gone, and leaves it.
func (w *Workflow) writeCassette(wctx workflow.Context, in Input, inputs map[string]any, seed uint64, uuids []string, res *engine.Result) {
	if w.Record == "" || res == nil || workflow.IsReplaying(wctx) {
		return
	}
	log := workflow.GetLogger(wctx)
	pd := partsDir(w.Record, res.Instance)
	name := res.Instance
	if strings.ContainsAny(name, `/\`) {
		name = url.PathEscape(name)
	}
	file := filepath.Join(w.Record, name+cassette.Suffix)
	if in.Continuation != nil {
		// a re-run starts from the beginning, and this run knows only its own part of the path
		log.Warn("archflow worker --record: an instance that continued as new is not recorded", "instance", res.Instance)
		os.RemoveAll(pd)
		return
	}
	entries, err := os.ReadDir(pd)
	if err != nil && !os.IsNotExist(err) {
		log.Error("archflow worker --record: reading recorded parts", "error", err)
		return
	}
	if os.IsNotExist(err) {
		if _, serr := os.Stat(file); serr == nil {
			return // written by an earlier try of this task
		}
	}
	c := &cassette.Cassette{Version: cassette.Version, Flow: res.Flow, Instance: res.Instance, Started: res.Started,
		Inputs: map[string]any{}, UUIDs: slices.Clone(uuids), Seed: seed, Interactions: []*cassette.Interaction{}}
	if c.UUIDs == nil {
		c.UUIDs = []string{}
	}
	for k, v := range inputs {
		if v != nil {
			c.Inputs[k] = cassette.Plain(v)
		}
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(pd, n))
		if err != nil {
			log.Error("archflow worker --record: reading a recorded part", "error", err)
			return
		}
		var items []*cassette.Interaction
		if err := yaml.Unmarshal(data, &items); err != nil {
			log.Error("archflow worker --record: a recorded part is damaged", "file", n, "error", err)
			return
		}
		c.Interactions = append(c.Interactions, items...)
	}
	for i, it := range c.Interactions {
		it.Index = i + 1
	}
	c.Result = &cassette.Result{Outcome: res.Outcome, Path: res.Path, Waits: res.Waits, Calls: res.Calls,
		StoppedAt: res.StoppedAt, Ended: res.Ended}
	if len(res.Outputs) > 0 {
		c.Result.Outputs = cassette.Plain(res.Outputs).(map[string]any)
	}
	if err := c.WriteFile(file); err != nil {
		log.Error("archflow worker --record: writing the cassette", "error", err)
		return
	}
	os.RemoveAll(pd)
}
