package engine

import (
	"bufio"
	"crypto/rand"
	"sync"

	"github.com/google/uuid"
)

// randomIDs gives random (version 4) UUIDs from crypto/rand, read 4 KiB at a time: every
// instance takes an id, and a batch starts tens of thousands a second, each of which would
// otherwise ask the kernel for 16 bytes. It is the engine's own, not google/uuid's process-wide
// pool (uuid.EnableRandPool), which would change how every UUID of a program importing engine
// is made.
var randomIDs struct {
	mu sync.Mutex
	r  *bufio.Reader // made on first use
}

// newRandomID is uuid.NewString from randomIDs.
func newRandomID() string {
	randomIDs.mu.Lock()
	if randomIDs.r == nil {
		randomIDs.r = bufio.NewReaderSize(rand.Reader, 4096)
	}
	u, err := uuid.NewRandomFromReader(randomIDs.r)
	randomIDs.mu.Unlock()
	if err != nil { // crypto/rand does not fail; if it did, NewString says so as it would
		return uuid.NewString()
	}
	return u.String()
}
