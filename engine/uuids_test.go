package engine

import (
	"sync"
	"testing"

	"github.com/google/uuid"
)

// Ids from the engine's buffered source are random (version 4, RFC 4122 variant) UUIDs, all
// different, when goroutines take them at once.
func TestRandomIDs(t *testing.T) {
	t.Parallel()
	const each, workers = 3000, 4
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids := make([]string, each)
			for i := range ids {
				ids[i] = newRandomID()
			}
			mu.Lock()
			defer mu.Unlock()
			for _, id := range ids {
				u, err := uuid.Parse(id)
				if err != nil || u.Version() != 4 || u.Variant() != uuid.RFC4122 || u.String() != id {
					t.Errorf("%q: version %v, variant %v, %v", id, u.Version(), u.Variant(), err)
				}
				if seen[id] {
					t.Errorf("%s given twice", id)
				}
				seen[id] = true
			}
		}()
	}
	wg.Wait()
	if len(seen) != each*workers {
		t.Errorf("%d ids, want %d", len(seen), each*workers)
	}
}
