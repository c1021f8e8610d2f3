package engine

import (
	"net/http"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return now.Add(d) }
	tests := []struct {
		name  string
		value string // "" leaves the header out
		want  int
	}{
		{"absent", "", 0},
		{"delay-seconds", "7", 7},
		{"delay-seconds with spaces", " 120 ", 120},
		{"zero seconds", "0", 0},
		{"negative seconds", "-5", 0},
		{"fractional seconds round up", "1.2", 2},
		{"IMF-fixdate", at(90 * time.Second).Format(http.TimeFormat), 90},
		{"IMF-fixdate, partial second rounds up", now.Add(30*time.Second + 500*time.Millisecond).Format(http.TimeFormat), 30},
		{"RFC 850", at(2 * time.Minute).Format(time.RFC850), 120},
		{"asctime", at(45 * time.Second).Format(time.ANSIC), 45},
		{"above any cap stays as given", "3600", 3600},
		{"past date", at(-time.Hour).Format(http.TimeFormat), 0},
		{"now", now.Format(http.TimeFormat), 0},
		{"garbage", "soon", 0},
		{"garbage date", "Mon, 99 Foo 2026 00:00:00 GMT", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.value != "" {
				h["Retry-After"] = tt.value
			}
			if got := RetryAfter(h, now); got != tt.want {
				t.Errorf("Retry-After %q at %s: got %d s, want %d s", tt.value, now.Format(time.RFC3339), got, tt.want)
			}
		})
	}
}

func TestRetryAfterHeaderShapes(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	for name, h := range map[string]any{
		"http.Header":        http.Header{"Retry-After": {"9"}},
		"lower-case key":     map[string]string{"retry-after": "9"},
		"map[string]any":     map[string]any{"Retry-After": "9"},
		"map[string]any int": map[string]any{"Retry-After": 9},
	} {
		if got := RetryAfter(h, now); got != 9 {
			t.Errorf("%s: got %d, want 9", name, got)
		}
	}
	if got := RetryAfter(nil, now); got != 0 {
		t.Errorf("nil headers: got %d, want 0", got)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	// initial 1s, multiplier 2, max 5s: 1, 2, 4, 5, 5
	for n, want := range []float64{1, 2, 4, 5, 5} {
		got, err := Backoff(n+1, "1s", 2, "5s")
		if err != nil || got != want {
			t.Errorf("backoff(%d, 1s, 2, 5s) = %v, %v; want %v", n+1, got, err, want)
		}
	}
	tests := []struct {
		name                 string
		n, initial, mul, max any
		want                 float64
	}{
		{"seconds as numbers", 3, 30, 2, 600, 120},
		{"durations", 2, 30 * time.Second, 2.0, 10 * time.Minute, 60},
		{"float n with no fraction", 4.0, "30s", 2, "10m", 240},
		{"capped", 10, "30s", 2, "10m", 600},
		{"multiplier 1 is constant", 7, "5s", 1, "1m", 5},
		{"fractional initial", 2, 0.5, 3, 60, 1.5},
	}
	for _, tt := range tests {
		got, err := Backoff(tt.n, tt.initial, tt.mul, tt.max)
		if err != nil || got != tt.want {
			t.Errorf("%s: backoff(%v, %v, %v, %v) = %v, %v; want %v", tt.name, tt.n, tt.initial, tt.mul, tt.max, got, err, tt.want)
		}
	}
	bad := []struct {
		name                 string
		n, initial, mul, max any
	}{
		{"n zero", 0, "1s", 2, "5s"},
		{"n fractional", 1.5, "1s", 2, "5s"},
		{"n a string", "2", "1s", 2, "5s"},
		{"initial garbage", 1, "soon", 2, "5s"},
		{"multiplier a string", 1, "1s", "2", "5s"},
		{"max NOT_SET", 1, "1s", 2, nil},
	}
	for _, tt := range bad {
		if got, err := Backoff(tt.n, tt.initial, tt.mul, tt.max); err == nil {
			t.Errorf("%s: backoff(%v, %v, %v, %v) = %v with no error", tt.name, tt.n, tt.initial, tt.mul, tt.max, got)
		}
	}
}
