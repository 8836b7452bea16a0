package main

import (
	"strings"
	"sync"
	"time"
)

// Sign-in throttling. The admin password is checked with Argon2id, which
// is slow and memory-hungry on purpose; without a bound, a burst of
// sign-in posts would run as many hashes at once, and an unlimited number
// of guesses could be tried.
const (
	// loginMaxFailures failed sign-ins for one login within loginWindow
	// refuse further attempts for that login until the oldest failure
	// leaves the window.
	loginMaxFailures = 5
	loginWindow      = 5 * time.Minute
	// loginMaxTracked bounds the failure table (random logins).
	loginMaxTracked = 4096
	// loginConcurrency bounds concurrent password checks.
	loginConcurrency = 2
)

// loginLimiter counts failed sign-ins per login in a sliding window.
type loginLimiter struct {
	now func() time.Time

	mu    sync.Mutex // guards fails
	fails map[string][]time.Time
}

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{now: now, fails: make(map[string][]time.Time)}
}

// loginKey folds case and surrounding spaces, so "Admin " counts as
// "admin".
func loginKey(login string) string { return strings.ToLower(strings.TrimSpace(login)) }

// recent returns the failures of key still inside the window; called
// with mu held.
func (l *loginLimiter) recent(key string, now time.Time) []time.Time {
	ts := l.fails[key]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= loginWindow {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.fails, key)
		return nil
	}
	l.fails[key] = ts
	return ts
}

// blocked reports whether key must wait, and how long.
func (l *loginLimiter) blocked(key string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	ts := l.recent(key, now)
	if len(ts) < loginMaxFailures {
		return 0, false
	}
	return loginWindow - now.Sub(ts[len(ts)-loginMaxFailures]), true
}

// fail records a failed sign-in for key.
func (l *loginLimiter) fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.fails) >= loginMaxTracked {
		for k := range l.fails {
			l.recent(k, now)
		}
		if len(l.fails) >= loginMaxTracked {
			// Still full of fresh failures: forget an arbitrary one
			// rather than grow without bound.
			for k := range l.fails {
				delete(l.fails, k)
				break
			}
		}
	}
	l.fails[key] = append(l.recent(key, now), now)
}

// reset forgets the failures of key after a successful sign-in.
func (l *loginLimiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}
