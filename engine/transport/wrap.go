package transport

// Wrapper is a Transport that hands every request on to another one (a recorder, a tracer of
// token requests). State kept per transport, like an OAuth token cache, belongs to the one
// underneath: wrapping each instance's transport must not give each instance its own token.
type Wrapper interface {
	Unwrap() Transport
}

// Base is the transport under every Wrapper around t.
func Base(t Transport) Transport {
	for {
		w, ok := t.(Wrapper)
		if !ok {
			return t
		}
		t = w.Unwrap()
	}
}
