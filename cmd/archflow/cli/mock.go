package cli

import (
	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/scripted"
	"github.com/archflow/archflow/engine/transport"
)

// mockTransports reads --mock FILE (what a test case's http: holds) and returns a maker of
// per-instance transports with their own cursors, so instances never consume each other's
// responses. Notification deliveries (webhooks) the mock does not script go to real.
func mockTransports(path string, flow *engine.Flow, real transport.Transport) (func() transport.Transport, error) {
	m, err := scripted.LoadMock(path)
	if err != nil {
		return nil, err
	}
	// a mock that names actions or nodes the flow lacks is a typo: say so before running
	if errs := m.Script.Check(flow); len(errs) > 0 {
		return nil, errs
	}
	return func() transport.Transport {
		t := m.Transport().(*scripted.Transport)
		t.Deliveries = real
		return t
	}, nil
}
