//go:build !linux

package engine_test

import "time"

// threadCPU is unknown here: the CPU metrics read zero.
func threadCPU() time.Duration { return 0 }
