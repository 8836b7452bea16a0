package mailqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// scripted is a Sender whose answers are decided by a function of the
// message subject and attempt number; it records every attempt.
type scripted struct {
	mu       sync.Mutex
	attempts []string // subjects, in attempt order
	sent     []string // subjects accepted
	answer   func(subject string, n int) error
	idle     atomic.Int32
	closed   atomic.Int32
	block    chan struct{} // when non-nil, Send waits for it or ctx
}

func subjectOf(msg []byte) string {
	for line := range strings.SplitSeq(string(msg), "\r\n") {
		if s, ok := strings.CutPrefix(line, "Subject: "); ok {
			return s
		}
	}
	return ""
}

func (s *scripted) Send(ctx context.Context, env Envelope, msg []byte) error {
	subj := subjectOf(msg)
	s.mu.Lock()
	n := 0
	for _, a := range s.attempts {
		if a == subj {
			n++
		}
	}
	s.attempts = append(s.attempts, subj)
	answer, block := s.answer, s.block
	s.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return &DeliveryError{Class: ClassTransport, Step: "data", Err: ctx.Err()}
		}
	}
	var err error
	if answer != nil {
		err = answer(subj, n+1)
	}
	if err == nil {
		s.mu.Lock()
		s.sent = append(s.sent, subj)
		s.mu.Unlock()
	}
	return err
}

func (s *scripted) CloseIdle() error { s.idle.Add(1); return nil }
func (s *scripted) Close() error     { s.closed.Add(1); return nil }

func (s *scripted) Sent() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sent...)
}

func (s *scripted) Attempts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.attempts...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

type harness struct {
	t      *testing.T
	q      *Queue
	spool  *Spool
	sender *scripted
	clock  *fakeClock
	alarms chan Alarm
	failed chan Meta
	cancel context.CancelFunc
	done   chan error
}

func newHarness(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, sender: &scripted{}, clock: newClock(),
		alarms: make(chan Alarm, 100), failed: make(chan Meta, 100)}
	h.spool = openTestSpool(t, t.TempDir())
	cfg := Config{Store: h.spool, Sender: h.sender, Now: h.clock.Now,
		PollInterval: 2 * time.Millisecond, ProbeInterval: 30 * time.Second, IdleClose: -1,
		Backoff:  func(int, error) time.Duration { return time.Minute },
		OnAlarm:  func(a Alarm) { h.alarms <- a },
		OnFailed: func(m Meta, _ error) { h.failed <- m }}
	if mod != nil {
		mod(&cfg)
	}
	q, err := New(cfg)
	require.NoError(t, err)
	h.q = q
	t.Cleanup(func() { h.stop() })
	return h
}

func (h *harness) enqueue(subjects ...string) []string {
	var ids []string
	for _, s := range subjects {
		id, err := h.q.Enqueue(context.Background(), testEnv,
			[]byte("From: vm@example.com\r\nTo: bob@example.com\r\nSubject: "+s+"\r\n\r\nhello\r\n"))
		require.NoError(h.t, err)
		ids = append(ids, id)
		h.clock.Add(time.Millisecond) // distinct enqueue times, FIFO by time
	}
	return ids
}

func (h *harness) run() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan error, 1)
	go func() { h.done <- h.q.Run(ctx) }()
}

func (h *harness) stop() {
	if h.done == nil {
		return
	}
	require.NoError(h.t, h.q.Close())
	require.NoError(h.t, <-h.done)
	h.cancel()
	h.done = nil
}

func (h *harness) list() []Meta {
	l, err := h.spool.List(context.Background())
	require.NoError(h.t, err)
	return l
}

func TestQueueDeliversFIFO(t *testing.T) {
	var delivered atomic.Int32
	h := newHarness(t, func(c *Config) { c.OnDelivered = func(Meta) { delivered.Add(1) } })
	h.enqueue("1", "2", "3", "4", "5")
	h.run()
	waitFor(t, "5 deliveries", func() bool { return len(h.sender.Sent()) == 5 })
	assert.Equal(t, []string{"1", "2", "3", "4", "5"}, h.sender.Sent())
	waitFor(t, "hooks", func() bool { return delivered.Load() == 5 })
	waitFor(t, "empty queue", func() bool { return len(h.list()) == 0 })
	st := h.q.Stats()
	assert.Equal(t, uint64(5), st.Sent)
	assert.Equal(t, 0, st.Depth)
	assert.Contains(t, []string{StatusIdle, StatusSending}, st.Status)

	// Enqueued while running: delivered without waiting for a poll.
	h.enqueue("6")
	waitFor(t, "6th delivery", func() bool { return len(h.sender.Sent()) == 6 })
}

func TestQueueNotConfigured(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Sender = nil })
	_, err := h.q.Enqueue(context.Background(), testEnv, testMsg(1))
	assert.ErrorIs(t, err, ErrNotConfigured)
	assert.Empty(t, files(t, filepath.Join(h.spool.Dir(), "queue")), "nothing generated")
	assert.Equal(t, StatusNotConfigured, h.q.Stats().Status)
	h.q.SetSender(h.sender)
	h.enqueue("a")
	h.run()
	waitFor(t, "delivery", func() bool { return len(h.sender.Sent()) == 1 })
}

// The case: 535 5.7.139 with 5 queued messages pauses the queue,
// keeps all 5, raises an alarm; after a configuration change all 5 go out
// in order.
func TestQueueConfigErrorPausesAndResumes(t *testing.T) {
	h := newHarness(t, nil)
	h.sender.answer = func(string, int) error {
		return &DeliveryError{Class: ClassConfig, Step: "auth", Code: 535, Enhanced: "5.7.139",
			Hint: "enable SMTP AUTH for the mailbox or use OAuth",
			Err:  errors.New("Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant")}
	}
	h.enqueue("1", "2", "3", "4", "5")
	h.run()
	a := <-h.alarms
	assert.Equal(t, AlarmConfig, a.Kind)
	assert.Contains(t, a.Hint, "SMTP AUTH")
	assert.Equal(t, ClassConfig, ClassOf(a.Err))
	waitFor(t, "paused", func() bool { return h.q.Stats().Status == StatusPaused })
	assert.Equal(t, []string{"1"}, h.sender.Attempts(), "paused after the first refusal")
	list := h.list()
	require.Len(t, list, 5)
	for _, m := range list {
		assert.Equal(t, StateQueued, m.State)
		assert.Equal(t, 0, m.Attempts, "a configuration error does not age messages")
	}
	assert.Contains(t, list[0].LastError, "5.7.139")

	good := &scripted{}
	h.q.SetSender(good)
	waitFor(t, "all 5 after the change", func() bool { return len(good.Sent()) == 5 })
	assert.Equal(t, []string{"1", "2", "3", "4", "5"}, good.Sent())
	assert.Equal(t, int32(1), h.sender.closed.Load(), "the replaced sender is closed")
	a = <-h.alarms
	assert.Equal(t, AlarmCleared, a.Kind)
}

func TestQueueConfigRetryAfterLongWait(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ConfigRetry = time.Hour })
	var calls atomic.Int32
	h.sender.answer = func(string, int) error {
		if calls.Add(1) == 1 {
			return &DeliveryError{Class: ClassConfig, Code: 530, Err: errors.New("must issue STARTTLS")}
		}
		return nil
	}
	h.enqueue("1", "2")
	h.run()
	<-h.alarms
	waitFor(t, "paused", func() bool { return h.q.Stats().Status == StatusPaused })
	h.clock.Add(59 * time.Minute)
	time.Sleep(20 * time.Millisecond)
	assert.Len(t, h.sender.Attempts(), 1, "still paused before ConfigRetry")
	h.clock.Add(2 * time.Minute)
	waitFor(t, "resumed", func() bool { return len(h.sender.Sent()) == 2 })
	assert.Equal(t, []string{"1", "2"}, h.sender.Sent())
}

func TestQueueTransportDownProbes(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AlarmAfter = time.Minute })
	var down atomic.Bool
	down.Store(true)
	h.sender.answer = func(string, int) error {
		if down.Load() {
			return &DeliveryError{Class: ClassTransport, Step: "dial", Err: errors.New("connection refused")}
		}
		return nil
	}
	h.enqueue("1", "2", "3")
	h.run()
	waitFor(t, "down", func() bool { return h.q.Stats().Status == StatusDown })
	time.Sleep(20 * time.Millisecond)
	assert.Len(t, h.sender.Attempts(), 1, "no new attempt before the probe interval")
	h.clock.Add(31 * time.Second)
	waitFor(t, "second probe", func() bool { return len(h.sender.Attempts()) == 2 })
	h.clock.Add(31 * time.Second)
	waitFor(t, "third probe", func() bool { return len(h.sender.Attempts()) == 3 })
	a := <-h.alarms
	assert.Equal(t, AlarmTransport, a.Kind, "alarm once down for AlarmAfter")
	assert.Equal(t, []string{"1", "1", "1"}, h.sender.Attempts(), "the head message probes; order kept")
	for _, m := range h.list() {
		assert.Equal(t, 0, m.Attempts, "transport failures do not age messages")
	}
	down.Store(false)
	h.clock.Add(31 * time.Second)
	waitFor(t, "drained", func() bool { return len(h.sender.Sent()) == 3 })
	assert.Equal(t, []string{"1", "2", "3"}, h.sender.Sent())
	assert.Equal(t, AlarmCleared, (<-h.alarms).Kind)
}

func TestQueueTemporaryFailureKeepsOthersInOrder(t *testing.T) {
	h := newHarness(t, nil)
	h.sender.answer = func(s string, n int) error {
		if s == "2" && n == 1 {
			return &DeliveryError{Class: ClassTemporary, Step: "rcpt", Code: 452, Enhanced: "4.2.2", Err: errors.New("mailbox full")}
		}
		return nil
	}
	ids := h.enqueue("1", "2", "3", "4")
	h.run()
	waitFor(t, "others", func() bool { return len(h.sender.Sent()) == 3 })
	assert.Equal(t, []string{"1", "3", "4"}, h.sender.Sent())
	waitFor(t, "acks", func() bool { return len(h.list()) == 1 })
	list := h.list()
	require.Len(t, list, 1)
	assert.Equal(t, ids[1], list[0].ID)
	assert.Equal(t, 1, list[0].Attempts)
	assert.Equal(t, ClassTemporary, list[0].LastClass)
	assert.Equal(t, uint64(1), h.q.Stats().Retries)
	h.clock.Add(2 * time.Minute)
	waitFor(t, "retry", func() bool { return len(h.sender.Sent()) == 4 })
}

func TestQueuePermanentFailureDeadLetters(t *testing.T) {
	h := newHarness(t, nil)
	h.sender.answer = func(s string, _ int) error {
		if s == "bad" {
			return &DeliveryError{Class: ClassPermanent, Step: "rcpt", Code: 550, Enhanced: "5.1.1", Err: errors.New("no such user")}
		}
		return nil
	}
	ids := h.enqueue("bad", "good")
	h.run()
	m := <-h.failed
	assert.Equal(t, ids[0], m.ID)
	assert.Contains(t, m.Reason, "5.1.1")
	assert.Equal(t, 1, m.Attempts, "the refused attempt counts")
	assert.Equal(t, ClassPermanent, m.LastClass)
	waitFor(t, "good", func() bool { return len(h.sender.Sent()) == 1 })
	raw, err := os.ReadFile(filepath.Join(h.spool.Dir(), "failed", ids[0]+".json"))
	require.NoError(t, err)
	assert.Contains(t, string(raw), "no such user")
	var dead Meta
	require.NoError(t, json.Unmarshal(raw, &dead))
	assert.Equal(t, 1, dead.Attempts, "the dead letter says how often it was tried")
	assert.Equal(t, ClassPermanent, dead.LastClass)
	assert.Contains(t, dead.LastError, "550")
	assert.Equal(t, uint64(1), h.q.Stats().Failed)
}

func TestQueueAmbiguousFlagsDuplicate(t *testing.T) {
	h := newHarness(t, nil)
	seen := make(chan bool, 4)
	h.sender.answer = func(s string, n int) error {
		if n == 1 {
			return &DeliveryError{Class: ClassAmbiguous, Step: "data", Err: errors.New("connection lost after the final dot")}
		}
		return nil
	}
	h.q.cfg.OnDelivered = func(m Meta) { seen <- m.PossibleDuplicate }
	h.enqueue("x")
	h.run()
	waitFor(t, "first attempt", func() bool { return len(h.sender.Attempts()) == 1 })
	waitFor(t, "released", func() bool { l := h.list(); return len(l) == 1 && l[0].PossibleDuplicate })
	h.clock.Add(2 * time.Minute)
	assert.True(t, <-seen, "the delivered message carries the possible-duplicate flag")
	assert.Equal(t, uint64(1), h.q.Stats().PossibleDuplicates)
}

func TestQueueExpiry(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxLifetime = time.Hour })
	h.sender.answer = func(string, int) error {
		return &DeliveryError{Class: ClassTemporary, Code: 451, Err: errors.New("later")}
	}
	ids := h.enqueue("old")
	h.run()
	waitFor(t, "attempt", func() bool { return len(h.sender.Attempts()) == 1 })
	waitFor(t, "released", func() bool { l := h.list(); return len(l) == 1 && l[0].Attempts == 1 })
	h.clock.Add(2 * time.Hour)
	m := <-h.failed
	assert.Equal(t, ids[0], m.ID)
	assert.Contains(t, m.Reason, "expired")
	assert.Contains(t, m.Reason, "last error")
	a := <-h.alarms
	assert.Equal(t, AlarmExpired, a.Kind)
	assert.Equal(t, ids[0], a.MessageID)
	assert.Len(t, h.sender.Attempts(), 1, "an expired message is not sent")
	assert.Equal(t, uint64(1), h.q.Stats().Expired)
}

func TestQueueIdleCloseKeepsSenderUsable(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.IdleClose = 5 * time.Millisecond })
	h.enqueue("1")
	h.run()
	waitFor(t, "idle close", func() bool { return h.sender.idle.Load() >= 1 })
	assert.Zero(t, h.sender.closed.Load(), "idle close is not the terminal Close")
	h.enqueue("2")
	waitFor(t, "second", func() bool { return len(h.sender.Sent()) == 2 })
	h.stop()
	assert.Equal(t, int32(1), h.sender.closed.Load(), "Close closes the sender")
}

func TestQueueConcurrency(t *testing.T) {
	var cur, peak atomic.Int32
	h := newHarness(t, func(c *Config) { c.Concurrency = 4 })
	h.sender.answer = func(string, int) error {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		cur.Add(-1)
		return nil
	}
	var subjects []string
	for i := range 20 {
		subjects = append(subjects, fmt.Sprint(i))
	}
	h.enqueue(subjects...)
	h.run()
	waitFor(t, "all", func() bool { return len(h.sender.Sent()) == 20 })
	assert.LessOrEqual(t, peak.Load(), int32(4))
}

func TestQueueShutdownKeepsInFlightMessage(t *testing.T) {
	h := newHarness(t, nil)
	h.sender.block = make(chan struct{})
	ids := h.enqueue("slow")
	h.run()
	waitFor(t, "in flight", func() bool { return len(h.sender.Attempts()) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, h.q.Shutdown(ctx), context.DeadlineExceeded)
	require.NoError(t, <-h.done)
	h.done = nil
	list := h.list()
	require.Len(t, list, 1)
	assert.Equal(t, ids[0], list[0].ID)
	assert.Equal(t, StateQueued, list[0].State)
	assert.Equal(t, 0, list[0].Attempts)
	_, err := h.q.Enqueue(context.Background(), testEnv, testMsg(1))
	assert.ErrorIs(t, err, ErrQueueClosed)
	assert.ErrorIs(t, h.q.Run(context.Background()), ErrQueueClosed)
}

func TestQueueRunTwice(t *testing.T) {
	h := newHarness(t, nil)
	h.run()
	waitFor(t, "running", func() bool { return h.q.Stats().Status != StatusStopped })
	assert.ErrorIs(t, h.q.Run(context.Background()), ErrRunning)
}

func TestConfigValidate(t *testing.T) {
	cfg := Config{Concurrency: -1, ProbeInterval: -time.Second, MaxLifetime: -1, PickupDir: "/nonexistent/x"}
	err := cfg.Validate()
	require.Error(t, err)
	for _, want := range []string{"store: is required", "concurrency: must be 0-256, got -1",
		"probe_interval: must be", "max_lifetime: must be", "pickup_dir: must be an existing folder"} {
		assert.Contains(t, err.Error(), want)
	}
	_, err = New(cfg)
	var fe *FieldError
	assert.ErrorAs(t, err, &fe)
}

func TestDefaultBackoff(t *testing.T) {
	for _, tc := range []struct {
		attempts int
		want     time.Duration
	}{{1, 30 * time.Second}, {2, time.Minute}, {3, 2 * time.Minute}, {4, 4 * time.Minute}, {20, time.Hour}} {
		t.Run(fmt.Sprint(tc.attempts), func(t *testing.T) {
			for range 50 {
				d := DefaultBackoff(tc.attempts, errors.New("x"))
				assert.InDelta(t, float64(tc.want), float64(d), float64(tc.want)*0.1+1)
			}
		})
	}
	d := DefaultBackoff(1, &DeliveryError{Class: ClassTemporary, RetryAfter: 3 * time.Hour})
	assert.Equal(t, 3*time.Hour, d, "the server's Retry-After wins when longer")
}

// ackFailStore is a Spool whose Ack (removal of a delivered message) fails.
type ackFailStore struct{ *Spool }

func (ackFailStore) Ack(context.Context, string) error { return errors.New("disk on fire") }

func TestQueueOnDeliveredMetaAfterAttempt(t *testing.T) {
	type seen struct {
		m       Meta
		inStore int
	}
	got := make(chan seen, 4)
	var h *harness
	h = newHarness(t, func(c *Config) {
		c.OnDelivered = func(m Meta) {
			l, _ := h.spool.List(context.Background())
			got <- seen{m, len(l)}
		}
	})
	h.sender.answer = func(_ string, n int) error {
		if n == 1 {
			return &DeliveryError{Class: ClassTemporary, Code: 451, Err: errors.New("try later")}
		}
		return nil
	}
	ids := h.enqueue("x")
	h.run()
	waitFor(t, "released", func() bool { l := h.list(); return len(l) == 1 && l[0].Attempts == 1 })
	h.clock.Add(2 * time.Minute)
	s := <-got
	assert.Equal(t, ids[0], s.m.ID)
	assert.Equal(t, 2, s.m.Attempts, "the delivering attempt is counted")
	assert.Equal(t, StateDelivered, s.m.State)
	assert.Empty(t, s.m.AckError)
	assert.Empty(t, s.m.LeaseOwner)
	assert.True(t, s.m.LeaseExpires.IsZero())
	assert.Equal(t, 0, s.inStore, "removed from the store before the callback")
}

func TestQueueOnDeliveredReportsFailedRemoval(t *testing.T) {
	got := make(chan Meta, 4)
	h := newHarness(t, func(c *Config) {
		c.OnDelivered = func(m Meta) { got <- m }
	})
	h.q.cfg.Store = ackFailStore{h.spool}
	ids := h.enqueue("x")
	h.run()
	m := <-got
	assert.Equal(t, ids[0], m.ID)
	assert.Equal(t, 1, m.Attempts)
	assert.Equal(t, StateDelivered, m.State, "the server accepted it: reported as delivered")
	assert.Contains(t, m.AckError, "disk on fire", "the callback learns that a duplicate will follow")
	assert.NotEmpty(t, m.LeaseOwner, "still leased in the store")
	l := h.list()
	require.Len(t, l, 1, "kept in the store, to be sent again")
	assert.Equal(t, StateLeased, l[0].State)
	assert.Empty(t, l[0].AckError, "never persisted")
	raw, err := Meta{ID: "a", AckError: "x"}.MarshalJSON()
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"ack_error":"x"`)
}
