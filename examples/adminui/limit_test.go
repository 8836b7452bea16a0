package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestLoginLimiter(t *testing.T) {
	clock := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	l := newLoginLimiter(func() time.Time { return clock })
	t.Run("sliding window", func(t *testing.T) {
		for i := range loginMaxFailures {
			_, blocked := l.blocked("admin")
			assert.False(t, blocked, "after %d failures", i)
			l.fail(loginKey(" Admin"))
			clock = clock.Add(30 * time.Second)
		}
		wait, blocked := l.blocked("admin")
		assert.True(t, blocked)
		assert.Equal(t, loginWindow-loginMaxFailures*30*time.Second, wait)
		clock = clock.Add(wait)
		_, blocked = l.blocked("admin")
		assert.False(t, blocked, "the oldest failure left the window")
		l.reset("admin")
		assert.NotContains(t, l.fails, "admin")
	})
	t.Run("bounded table", func(t *testing.T) {
		for i := range loginMaxTracked + 100 {
			l.fail(fmt.Sprintf("user%d", i))
		}
		assert.LessOrEqual(t, len(l.fails), loginMaxTracked)
		clock = clock.Add(loginWindow)
		l.fail("x")
		assert.Len(t, l.fails, 1, "expired entries are pruned when the table is full")
	})
}
