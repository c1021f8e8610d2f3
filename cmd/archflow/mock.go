package main

import (
	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/scripted"
)

// --mock FILE: the file holds what a test case's http: holds; every instance gets a transport
// with its own cursors, so instances never consume each other's responses.
func init() {
	mockTransport = func(path string, flow *engine.Flow) (func() engine.Transport, error) {
		m, err := scripted.LoadMock(path)
		if err != nil {
			return nil, err
		}
		// a mock that names actions or nodes the flow lacks is a typo: say so before running
		if errs := m.Script.Check(flow); len(errs) > 0 {
			return nil, errs
		}
		return m.Transport, nil
	}
}
