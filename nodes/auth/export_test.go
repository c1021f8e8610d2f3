package auth

import "time"

// SetWallClock replaces the clock that token expiry is measured by, until restore is called.
func SetWallClock(now func() time.Time) (restore func()) {
	old := wallNow
	wallNow = now
	return func() { wallNow = old }
}
