package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/internal/pgtest"
	"github.com/ucxkit/ucxkit/mailqueue"
)

var testEnv = mailqueue.Envelope{From: "pbx@example.com", To: []string{"alice@example.com", "bob@example.com"}}

func msg(n int) []byte {
	return fmt.Appendf(nil, "Subject: test %d\r\nMessage-ID: <%d@example.com>\r\n\r\nbody %d\r\n", n, n, n)
}

func TestMigrateConcurrentAndIdempotent(t *testing.T) {
	dsn, schema := testSchema(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pool, err := pgtest.NewPool(ctx, dsn, schema, 2)
			if err != nil {
				errs[i] = err
				return
			}
			defer pool.Close()
			s, err := Open(ctx, pool, Options{})
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "opener %d", i)
	}
	pool := pgtest.Pool(t, dsn, schema, 2)
	var v int
	require.NoError(t, pool.QueryRow(ctx, `SELECT version FROM ucxkit_schema_version WHERE component = 'mailqueue'`).Scan(&v))
	assert.Equal(t, SchemaVersion(), v)

	s, err := Open(ctx, pool, Options{})
	require.NoError(t, err, "reopening a migrated schema")
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close is idempotent")

	_, err = pool.Exec(ctx, `UPDATE ucxkit_schema_version SET version = 99 WHERE component = 'mailqueue'`)
	require.NoError(t, err)
	_, err = Open(ctx, pool, Options{})
	require.ErrorIs(t, err, ErrSchemaTooNew)
	assert.Contains(t, err.Error(), "version 99")
}

func TestMigrateWithoutSchema(t *testing.T) {
	dsn := pgtest.DSN(t)
	pool := pgtest.Pool(t, dsn, "ucxkit_no_such_schema_"+randHex(4), 1)
	_, err := Open(context.Background(), pool, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no schema selected")
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lease time.Duration
		ok    bool
	}{
		{"zero", 0, true},
		{"short", 100 * time.Millisecond, false},
		{"min", minLease, true},
		{"long", 25 * time.Hour, false},
		{"negative", -time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Options{Lease: tc.lease}.Validate()
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "lease: must be 0 or between")
		})
	}
	_, err := Open(context.Background(), nil, Options{})
	require.Error(t, err)
}

func TestPutClaimFIFO(t *testing.T) {
	s, _, _ := testStore(t, Options{})
	ctx := context.Background()
	base := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	var ids []string
	// Enqueued out of order in wall time, FIFO by EnqueuedAt.
	for _, n := range []int{2, 0, 4, 1, 3} {
		m, err := s.Put(ctx, testEnv, msg(n), base.Add(time.Duration(n)*time.Second))
		require.NoError(t, err)
		assert.Equal(t, mailqueue.StateQueued, m.State)
		assert.Equal(t, base.Add(time.Duration(n)*time.Second).Truncate(time.Microsecond), m.EnqueuedAt)
		assert.Equal(t, int64(len(msg(n))), m.Size)
		ids = append(ids, m.ID)
	}
	now := base.Add(time.Minute)
	first, err := s.Claim(ctx, "node-a", now, time.Minute, 2)
	require.NoError(t, err)
	require.Len(t, first, 2)
	assert.Equal(t, msg(0), first[0].Data)
	assert.Equal(t, msg(1), first[1].Data)
	assert.Equal(t, mailqueue.StateLeased, first[0].Meta.State)
	assert.Equal(t, "node-a", first[0].Meta.LeaseOwner)
	assert.Equal(t, now.Add(time.Minute).Truncate(time.Microsecond), first[0].Meta.LeaseExpires)
	assert.Equal(t, testEnv, first[0].Meta.Envelope)

	rest, err := s.Claim(ctx, "node-b", now, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, rest, 3)
	for i, it := range rest {
		assert.Equal(t, msg(i+2), it.Data)
	}
	none, err := s.Claim(ctx, "node-c", now, time.Minute, 10)
	require.NoError(t, err)
	assert.Empty(t, none)

	list, err := s.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 5)
	for i := 1; i < len(list); i++ {
		assert.True(t, list[i-1].EnqueuedAt.Before(list[i].EnqueuedAt), "List is oldest first")
	}
	for _, it := range append(first, rest...) {
		require.NoError(t, s.Ack(ctx, it.Meta.ID))
	}
	list, err = s.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, list)
	require.ErrorIs(t, s.Ack(ctx, ids[0]), mailqueue.ErrNotFound)
}

func TestNotDueAndLeaseExpiry(t *testing.T) {
	a, dsn, schema := testStore(t, Options{})
	b, err := Open(context.Background(), pgtest.Pool(t, dsn, schema, 2), Options{})
	require.NoError(t, err)
	defer b.Close()
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	m, err := a.Put(ctx, testEnv, msg(1), now)
	require.NoError(t, err)

	none, err := a.Claim(ctx, "a", now.Add(-time.Second), time.Minute, 1)
	require.NoError(t, err)
	assert.Empty(t, none, "not due before its enqueue time")

	got, err := a.Claim(ctx, "a", now, time.Minute, 1)
	require.NoError(t, err)
	require.Len(t, got, 1)
	none, err = b.Claim(ctx, "b", now.Add(59*time.Second), time.Minute, 1)
	require.NoError(t, err)
	assert.Empty(t, none, "leased to a until the lease expires")

	next, ok, err := b.NextDue(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, now.Add(time.Minute), next, "a leased message is next due at its lease expiry")

	// Node a dies; b takes over after the lease.
	taken, err := b.Claim(ctx, "b", now.Add(time.Minute), time.Minute, 1)
	require.NoError(t, err)
	require.Len(t, taken, 1)
	assert.Equal(t, m.ID, taken[0].Meta.ID)
	assert.Equal(t, "b", taken[0].Meta.LeaseOwner)

	// a comes back: its outcome must not overwrite b's lease.
	err = a.Release(ctx, m.ID, mailqueue.Outcome{NextAttempt: now, Err: errors.New("late")})
	require.ErrorIs(t, err, ErrLeaseLost)
	require.ErrorIs(t, a.Fail(ctx, m.ID, mailqueue.Failure{Reason: "late"}), ErrLeaseLost)
	cur, err := b.Get(ctx, m.ID)
	require.NoError(t, err)
	assert.Equal(t, mailqueue.StateLeased, cur.State)
	assert.Equal(t, "b", cur.LeaseOwner)
	assert.Empty(t, cur.LastError)

	require.NoError(t, b.Ack(ctx, m.ID))
	_, ok, err = b.NextDue(ctx)
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestReleaseRecordsOutcome(t *testing.T) {
	s, _, _ := testStore(t, Options{})
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	m, err := s.Put(ctx, testEnv, msg(1), now)
	require.NoError(t, err)
	_, err = s.Claim(ctx, "a", now, time.Minute, 1)
	require.NoError(t, err)
	derr := &mailqueue.DeliveryError{Class: mailqueue.ClassAmbiguous, Step: "data", Err: errors.New("connection reset")}
	next := now.Add(5 * time.Minute)
	require.NoError(t, s.Release(ctx, m.ID, mailqueue.Outcome{NextAttempt: next, Err: derr, CountAttempt: true, PossibleDuplicate: true}))

	got, err := s.Get(ctx, m.ID)
	require.NoError(t, err)
	assert.Equal(t, mailqueue.StateQueued, got.State)
	assert.Equal(t, 1, got.Attempts)
	assert.Equal(t, derr.Error(), got.LastError)
	assert.Equal(t, mailqueue.ClassAmbiguous, got.LastClass)
	assert.True(t, got.PossibleDuplicate)
	assert.Equal(t, next, got.NextAttempt)
	assert.Empty(t, got.LeaseOwner)
	assert.True(t, got.LeaseExpires.IsZero())

	none, err := s.Claim(ctx, "a", next.Add(-time.Second), time.Minute, 1)
	require.NoError(t, err)
	assert.Empty(t, none, "backoff holds the message")
	items, err := s.Claim(ctx, "a", next, time.Minute, 1)
	require.NoError(t, err)
	require.Len(t, items, 1)
	// A transport failure keeps the count and the duplicate flag.
	require.NoError(t, s.Release(ctx, m.ID, mailqueue.Outcome{NextAttempt: next}))
	got, err = s.Get(ctx, m.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, got.Attempts)
	assert.True(t, got.PossibleDuplicate)
	assert.Equal(t, derr.Error(), got.LastError, "no new error keeps the last one")

	require.ErrorIs(t, s.Release(ctx, "nope", mailqueue.Outcome{}), mailqueue.ErrNotFound)
	require.ErrorIs(t, s.Release(ctx, m.ID, mailqueue.Outcome{}), ErrLeaseLost, "a queued message is not leased")
}

func TestFailRetryAndCounts(t *testing.T) {
	s, _, _ := testStore(t, Options{})
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	a, err := s.Put(ctx, testEnv, msg(1), now)
	require.NoError(t, err)
	b, err := s.Put(ctx, testEnv, msg(2), now.Add(time.Second))
	require.NoError(t, err)
	_, err = s.Put(ctx, testEnv, msg(3), now.Add(2*time.Second))
	require.NoError(t, err)
	_, err = s.Claim(ctx, "a", now.Add(time.Minute), time.Minute, 2)
	require.NoError(t, err)
	refused := &mailqueue.DeliveryError{Class: mailqueue.ClassPermanent, Code: 550, Err: errors.New("user unknown")}
	require.NoError(t, s.Fail(ctx, a.ID, mailqueue.Failure{Reason: "550 5.1.1 user unknown", Err: refused, CountAttempt: true}))
	require.ErrorIs(t, s.Fail(ctx, a.ID, mailqueue.Failure{Reason: "again"}), ErrLeaseLost, "already a dead letter")

	counts, err := s.Counts(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[mailqueue.State]int{mailqueue.StateQueued: 1, mailqueue.StateLeased: 1, mailqueue.StateFailed: 1}, counts)

	failed, err := s.ListState(ctx, mailqueue.StateFailed)
	require.NoError(t, err)
	require.Len(t, failed, 1)
	assert.Equal(t, a.ID, failed[0].ID)
	assert.Equal(t, "550 5.1.1 user unknown", failed[0].Reason)
	assert.Equal(t, 1, failed[0].Attempts)
	assert.Equal(t, mailqueue.ClassPermanent, failed[0].LastClass)
	assert.Contains(t, failed[0].LastError, "user unknown")
	leased, err := s.ListState(ctx, mailqueue.StateLeased)
	require.NoError(t, err)
	require.Len(t, leased, 1)
	assert.Equal(t, b.ID, leased[0].ID)
	_, err = s.ListState(ctx, "bogus")
	require.Error(t, err)

	none, err := s.Claim(ctx, "b", now.Add(time.Hour), time.Minute, 10)
	require.NoError(t, err)
	for _, it := range none {
		assert.NotEqual(t, a.ID, it.Meta.ID, "dead letters are never claimed")
	}
	require.ErrorIs(t, s.Retry(ctx, b.ID, now), ErrNotDeadLetter)
	require.ErrorIs(t, s.Retry(ctx, "nope", now), mailqueue.ErrNotFound)
	require.NoError(t, s.Retry(ctx, a.ID, now.Add(2*time.Hour)))
	again, err := s.Claim(ctx, "b", now.Add(2*time.Hour), time.Minute, 10)
	require.NoError(t, err)
	require.NotEmpty(t, again)
	assert.Equal(t, a.ID, again[0].Meta.ID, "a retried dead letter keeps its place")
}

func TestInvalidEnvelopeAndClosed(t *testing.T) {
	s, _, _ := testStore(t, Options{})
	ctx := context.Background()
	_, err := s.Put(ctx, mailqueue.Envelope{From: "a@example.com"}, msg(1), time.Now())
	require.ErrorIs(t, err, mailqueue.ErrInvalidEnvelope)
	_, err = s.Put(ctx, mailqueue.Envelope{To: []string{"x@example.com\r\nRCPT TO:<y@example.com>"}}, msg(1), time.Now())
	require.ErrorIs(t, err, mailqueue.ErrInvalidEnvelope)
	require.NoError(t, s.Close())
	_, err = s.Put(ctx, testEnv, msg(1), time.Now())
	require.ErrorIs(t, err, mailqueue.ErrStoreClosed)
	_, err = s.Claim(ctx, "a", time.Now(), time.Minute, 1)
	require.ErrorIs(t, err, mailqueue.ErrStoreClosed)
	_, err = s.List(ctx)
	require.ErrorIs(t, err, mailqueue.ErrStoreClosed)
}

func TestCancelledContext(t *testing.T) {
	s, _, _ := testStore(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Put(ctx, testEnv, msg(1), time.Now())
	require.ErrorIs(t, err, context.Canceled)
	list, err := s.List(context.Background())
	require.NoError(t, err)
	assert.Empty(t, list, "a cancelled Put stores nothing")
}

func TestLeaseRenewal(t *testing.T) {
	// Generous against a loaded machine: renewals every 500 ms keep a
	// 1.5 s lease.
	const lease = 1500 * time.Millisecond
	a, dsn, schema := testStore(t, Options{Lease: lease})
	b, err := Open(context.Background(), pgtest.Pool(t, dsn, schema, 2), Options{Lease: lease})
	require.NoError(t, err)
	defer b.Close()
	ctx := context.Background()
	m, err := a.Put(ctx, testEnv, msg(1), time.Now())
	require.NoError(t, err)
	got, err := a.Claim(ctx, "a", time.Now(), time.Hour, 1)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.WithinDuration(t, time.Now().Add(lease), got[0].Meta.LeaseExpires, time.Second, "Options.Lease replaces the runner's lease")
	// While a lives, its renewals keep the lease: b finds nothing through
	// several lease periods.
	deadline := time.Now().Add(3 * lease)
	for time.Now().Before(deadline) {
		none, err := b.Claim(ctx, "b", time.Now(), time.Hour, 1)
		require.NoError(t, err)
		require.Empty(t, none, "a live node's lease is renewed")
		time.Sleep(lease / 10)
	}
	// a stops (as a dead node would); b takes over after the lease.
	require.NoError(t, a.Close())
	require.Eventually(t, func() bool {
		items, err := b.Claim(ctx, "b", time.Now(), time.Hour, 1)
		return err == nil && len(items) == 1 && items[0].Meta.ID == m.ID
	}, 10*time.Second, 50*time.Millisecond)
}

// queueSink is a counting sender for Queue tests.
type queueSink struct {
	mu   sync.Mutex
	got  []string
	done chan struct{}
	want int
}

func (q *queueSink) Send(_ context.Context, _ mailqueue.Envelope, b []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.got = append(q.got, string(b))
	if len(q.got) == q.want {
		close(q.done)
	}
	return nil
}

func TestQueueOverPostgres(t *testing.T) {
	s, _, _ := testStore(t, Options{})
	sink := &queueSink{done: make(chan struct{}), want: 20}
	q, err := mailqueue.New(mailqueue.Config{Store: s, Sender: sink, PollInterval: 20 * time.Millisecond})
	require.NoError(t, err)
	ctx := context.Background()
	for i := range sink.want {
		_, err := q.Enqueue(ctx, testEnv, msg(i))
		require.NoError(t, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- q.Run(ctx) }()
	select {
	case <-sink.done:
	case <-time.After(30 * time.Second):
		t.Fatal("queue did not deliver 20 messages")
	}
	require.NoError(t, q.Close())
	require.NoError(t, <-runErr)
	for i, b := range sink.got {
		assert.Equal(t, string(msg(i)), b, "FIFO with one runner")
	}
	require.Eventually(t, func() bool {
		l, err := s.List(context.Background())
		return err == nil && len(l) == 0
	}, 5*time.Second, 10*time.Millisecond)
}

func TestRenewalEndsWithTheAskedLease(t *testing.T) {
	a, dsn, schema := testStore(t, Options{Lease: minLease})
	b, err := Open(context.Background(), pgtest.Pool(t, dsn, schema, 2), Options{})
	require.NoError(t, err)
	defer b.Close()
	ctx := context.Background()
	m, err := a.Put(ctx, testEnv, msg(1), time.Now())
	require.NoError(t, err)
	// The runner asks for 1 s and never reports back (a hung attempt):
	// renewals stop then, and the message goes to another runner.
	got, err := a.Claim(ctx, "a", time.Now(), time.Second, 1)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Eventually(t, func() bool {
		items, err := b.Claim(ctx, "b", time.Now(), time.Hour, 1)
		return err == nil && len(items) == 1 && items[0].Meta.ID == m.ID
	}, 10*time.Second, 50*time.Millisecond)
	require.ErrorIs(t, a.Release(ctx, m.ID, mailqueue.Outcome{NextAttempt: time.Now()}), ErrLeaseLost)
}

func TestOperatorFailsQueuedMessage(t *testing.T) {
	s, dsn, schema := testStore(t, Options{})
	ctx := context.Background()
	now := time.Now()
	queued, err := s.Put(ctx, testEnv, msg(1), now)
	require.NoError(t, err)
	leased, err := s.Put(ctx, testEnv, msg(2), now.Add(time.Second))
	require.NoError(t, err)
	_, err = s.Claim(ctx, "runner", now.Add(time.Second), time.Hour, 1)
	require.NoError(t, err)
	_, err = s.Claim(ctx, "runner", now.Add(time.Second), time.Hour, 1)
	require.NoError(t, err)
	// An operator tool (another Store, no claim) may fail a waiting
	// message, never one a runner holds.
	tool, err := Open(ctx, pgtest.Pool(t, dsn, schema, 1), Options{})
	require.NoError(t, err)
	defer tool.Close()
	require.NoError(t, s.Release(ctx, queued.ID, mailqueue.Outcome{NextAttempt: now}))
	require.NoError(t, tool.Fail(ctx, queued.ID, mailqueue.Failure{Reason: "removed by the operator"}))
	require.ErrorIs(t, tool.Fail(ctx, leased.ID, mailqueue.Failure{Reason: "removed by the operator"}), ErrLeaseLost)
	require.ErrorIs(t, tool.Fail(ctx, "missing", mailqueue.Failure{Reason: "x"}), mailqueue.ErrNotFound)
	m, err := tool.Get(ctx, queued.ID)
	require.NoError(t, err)
	assert.Equal(t, mailqueue.StateFailed, m.State)
	assert.Equal(t, "removed by the operator", m.Reason)
}
