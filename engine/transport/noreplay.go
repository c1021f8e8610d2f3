package transport

import (
	"io"
	"net/http"
)

// noReplay keeps net/http from re-sending a request on its own. Its transport replays a request
// whose reused keep-alive connection dropped when the request is "replayable": no body or a
// rewindable one (GetBody), and an idempotent method or an Idempotency-Key header (see
// Request.isReplayable in net/http). The server may well have acted on the first copy, and the
// re-send would be a request on the wire that no trace or `calls` shows (SPEC §11). A body that
// is never nil and never rewindable (no GetBody) makes no request replayable; the failure comes
// back as a transient network error and only the flow's retry policy decides whether to send
// again.
type noReplay struct{ rt http.RoundTripper }

func (t noReplay) RoundTrip(r *http.Request) (*http.Response, error) {
	cp := r.Clone(r.Context())
	preventReplay(cp)
	return t.rt.RoundTrip(cp)
}

// preventReplay makes cp, a request of its sender's own, not replayable (see noReplay).
func preventReplay(cp *http.Request) {
	cp.GetBody = nil
	if cp.Body == nil || cp.Body == http.NoBody {
		// net/http probes the empty body of a GET, HEAD, OPTIONS or DELETE away and sends none; a
		// POST, PUT or PATCH would go out chunked, so it keeps its nil body when that is not
		// replayable anyway (no Idempotency-Key).
		switch cp.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			if cp.Header.Get("Idempotency-Key") == "" && cp.Header.Get("X-Idempotency-Key") == "" {
				break
			}
			fallthrough
		default:
			cp.Body = emptyBody{}
			cp.ContentLength = 0
		}
	}
	// A body is kept as it is: without GetBody net/http cannot rewind it, whatever its type, and
	// an in-memory body (bytes.Reader) it recognises goes out in the same write as the headers;
	// hidden behind a wrapper, the headers were flushed first, two writes per request.
}

type emptyBody struct{}

func (emptyBody) Read([]byte) (int, error) { return 0, io.EOF }
func (emptyBody) Close() error             { return nil }
