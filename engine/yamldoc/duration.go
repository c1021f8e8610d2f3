package yamldoc

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"sync"
	"time"
)

// ErrDurationRange is a duration beyond what time.Duration holds (about 292 years). Callers that
// compare against a maximum get the saturated value with it, so that "too long" stays too long
// instead of wrapping round to a negative or zero wait.
var ErrDurationRange = errors.New("out of range")

// DurationOfSeconds converts seconds to a Duration. NaN is an error; a value beyond the range
// saturates to ±math.MaxInt64 nanoseconds and comes with ErrDurationRange.
func DurationOfSeconds(f float64) (time.Duration, error) {
	switch {
	case math.IsNaN(f):
		return 0, fmt.Errorf("%v is not a number of seconds", f)
	case f*float64(time.Second) >= math.MaxInt64:
		return math.MaxInt64, fmt.Errorf("%v seconds: %w", f, ErrDurationRange)
	case f*float64(time.Second) <= math.MinInt64:
		return math.MinInt64, fmt.Errorf("%v seconds: %w", f, ErrDurationRange)
	}
	return time.Duration(f * float64(time.Second)), nil
}

// goDurationRe is the syntax of a Go duration string: one that time.ParseDuration refuses
// although it matches overflowed.
var goDurationRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^([-+]?)([0-9]*(\.[0-9]*)?(ns|us|µs|μs|ms|s|m|h))+$`)
})

// durationOverflow tells a well-formed duration string too long for time.Duration.
func durationOverflow(s string) (time.Duration, error, bool) {
	m := goDurationRe().FindStringSubmatch(s)
	if m == nil {
		return 0, nil, false
	}
	if m[1] == "-" {
		return math.MinInt64, fmt.Errorf("%q: %w", s, ErrDurationRange), true
	}
	return math.MaxInt64, fmt.Errorf("%q: %w", s, ErrDurationRange), true
}
