package o365

import (
	"context"
	"sync"
	"time"
)

// limiter allows at most n events in any window (a sliding log): Exchange
// Online accepts 30 SMTP submissions per minute per mailbox, and pacing
// below that avoids "432 4.3.2" throttling replies. Safe for concurrent use.
type limiter struct {
	n      int
	window time.Duration
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error

	mu   sync.Mutex  // guards past
	past []time.Time // start times of the last n events, oldest first
}

func newLimiter(n int, window time.Duration, now func() time.Time) *limiter {
	return &limiter{n: n, window: window, now: now, sleep: sleepCtx}
}

// Wait blocks until one more event fits in the window, then records it.
// It returns the context's error if ctx ends first.
func (l *limiter) Wait(ctx context.Context) error {
	if l == nil || l.n <= 0 {
		return nil
	}
	for {
		l.mu.Lock()
		now := l.now()
		cut := now.Add(-l.window)
		i := 0
		for i < len(l.past) && !l.past[i].After(cut) {
			i++
		}
		l.past = l.past[i:]
		if len(l.past) < l.n {
			l.past = append(l.past, now)
			l.mu.Unlock()
			return nil
		}
		wait := l.past[0].Add(l.window).Sub(now)
		l.mu.Unlock()
		if err := l.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
