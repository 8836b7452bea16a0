package mailqueue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ucxkit/ucxkit/internal/fielderr"
)

// Default values that New fills in for zero Config fields.
const (
	DefaultConcurrency    = 1                    // the seed: "sent one by one in sequence"
	DefaultProbeInterval  = 30 * time.Second     // the seed: "tries to reconnect every 30 seconds"
	DefaultConfigRetry    = 10 * time.Minute     // paused queue retries on its own after this
	DefaultMaxLifetime    = 5 * 24 * time.Hour   // Postfix maximal_queue_lifetime; RFC 5321 §4.5.4.1 "4-5 days"
	DefaultAttemptTimeout = 15 * time.Minute     // one Send; RFC 5321 final-dot timeout is 10 min
	DefaultIdleClose      = 2 * time.Second      // Postfix smtp_connection_cache_time_limit
	DefaultPollInterval   = time.Second          // idle check for due messages and pickup files
	DefaultAlarmAfter     = 5 * time.Minute      // transport down this long raises an alarm
	leaseMargin           = 5 * time.Minute      // lease = attempt timeout + margin
	maxConcurrency        = 256                  // bounded parallelism
	maxDuration           = 365 * 24 * time.Hour // sanity bound for durations
)

// Config configures a Queue. Zero values of optional fields take the
// defaults above. Configuration is read-only after New; change the sender
// with SetSender.
type Config struct {
	// Store holds the messages. Required; usually a *Spool.
	Store Store
	// Sender delivers messages. Nil means outgoing mail is not configured:
	// Enqueue returns ErrNotConfigured and nothing is generated, as the
	// seed requires; SetSender configures it later.
	Sender Sender
	// Concurrency is the number of messages in flight. Zero means 1
	// (strict FIFO, one at a time). Above 1 the Sender must be safe for
	// concurrent use (smtpsend.Sender and the o365 senders are).
	Concurrency int
	// ProbeInterval is how often the connection is tried again while the
	// service is unreachable (ClassTransport). Zero means 30 s.
	ProbeInterval time.Duration
	// ConfigRetry is how long a queue paused by a configuration error
	// (ClassConfig) waits before trying again on its own; SetSender resumes
	// it at once. Zero means 10 minutes.
	ConfigRetry time.Duration
	// MaxLifetime is how long a message may wait for delivery before it is
	// moved to the dead letters as expired. Zero means 5 days.
	MaxLifetime time.Duration
	// Backoff spaces the attempts of a message after temporary or
	// ambiguous failures. Nil means DefaultBackoff.
	Backoff BackoffFunc
	// AttemptTimeout bounds one Send. Zero means 15 minutes.
	AttemptTimeout time.Duration
	// IdleClose closes the Sender's kept connections (IdleCloser) after
	// the queue has been idle this long. Zero means 2 s; negative never
	// closes while running.
	IdleClose time.Duration
	// PollInterval is how often an idle queue looks for due messages
	// (also those put into the store by other processes) and pickup files.
	// Zero means 1 s.
	PollInterval time.Duration
	// AlarmAfter is how long the service may be unreachable before OnAlarm
	// reports it. Zero means 5 minutes.
	AlarmAfter time.Duration
	// PickupDir, when set, is scanned by Run for complete .eml files
	// dropped by other programs (see ParsePickup); a Spool's is
	// Spool.PickupDir(). Empty disables pickup.
	PickupDir string
	// Owner names this runner in leases. Empty means "hostname:pid".
	Owner string
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// Logger receives delivery events. Nil is silent.
	Logger *slog.Logger
	// OnDelivered is called after a message was accepted by the server,
	// once per accepted attempt. Meta is as after that attempt: State is
	// StateDelivered and Attempts counts it. Normally the message has been
	// removed from the store; if removing it failed, OnDelivered is still
	// called (the recipient has the message) with Meta.AckError set: the
	// message stays in the store and will be sent, and reported, again, a
	// duplicate with the same Message-ID.
	OnDelivered func(Meta)
	// OnFailed is called after a message was moved to the dead letters
	// (permanent failure or expired); err says why.
	OnFailed func(m Meta, err error)
	// OnAlarm is called when delivery stops (configuration error, service
	// unreachable for AlarmAfter), when a message expires, and when
	// delivery works again (AlarmCleared).
	OnAlarm func(Alarm)
	// Signer, when set, DKIM-signs every message in Enqueue before it is
	// stored, so every retry sends identical, validly signed bytes. Build it
	// with the same MaxLifetime as the queue: NewDKIMSigner refuses an
	// expiration (x=) shorter than that lifetime, and New refuses a signer
	// built for a shorter lifetime than this queue's.
	Signer *DKIMSigner
}

// Hooks are called synchronously from the delivering goroutine: keep them
// short and never call Queue.Close or Shutdown from one.

// AlarmKind says what an Alarm is about.
type AlarmKind string

// Alarm kinds.
const (
	AlarmConfig    AlarmKind = "config"         // paused by a configuration error
	AlarmTransport AlarmKind = "transport-down" // service unreachable for AlarmAfter
	AlarmExpired   AlarmKind = "expired"        // a message outlived MaxLifetime
	AlarmCleared   AlarmKind = "cleared"        // delivery works again
)

// Alarm is what OnAlarm receives.
type Alarm struct {
	Kind AlarmKind
	// Err is the failure that caused the alarm (nil for AlarmCleared).
	Err error
	// Hint is advice for the administrator from the Sender's
	// DeliveryError, free of secrets.
	Hint string
	// Since is when the problem started.
	Since time.Time
	// MessageID names the message for AlarmExpired.
	MessageID string
}

// Queue state names, as reported by Stats.
const (
	StatusIdle          = "idle"           // running, nothing to send
	StatusSending       = "sending"        // running, delivering
	StatusDown          = "transport-down" // probing every ProbeInterval
	StatusPaused        = "paused"         // configuration error
	StatusNotConfigured = "not-configured" // no Sender
	StatusStopped       = "stopped"        // Run not running
)

// Stats is a snapshot of the queue.
type Stats struct {
	// Status is one of the Status* names.
	Status string `json:"status"`
	// Depth counts queued and in-flight messages; -1 when the store cannot
	// tell without I/O.
	Depth int `json:"depth"`
	// Oldest is the enqueue time of the oldest waiting message.
	Oldest time.Time `json:"oldest,omitzero"`
	// Sent, Failed and Retries count since New.
	Sent    uint64 `json:"sent"`
	Failed  uint64 `json:"failed"`
	Retries uint64 `json:"retries"`
	// Expired counts the failed messages that outlived MaxLifetime.
	Expired uint64 `json:"expired"`
	// PossibleDuplicates counts ambiguous attempts.
	PossibleDuplicates uint64 `json:"possible_duplicates"`
	// LastError is the last delivery failure, free of secrets.
	LastError string `json:"last_error,omitempty"`
	// Since is when Status last changed to down or paused.
	Since time.Time `json:"since,omitzero"`
}

// Depther is an optional Store capability: the number of waiting messages
// and the oldest one's enqueue time, without I/O. The Spool has it.
type Depther interface {
	Depth() (int, time.Time)
}

// DueReporter is an optional Store capability: when the next message is
// due, so an idle runner sleeps exactly that long.
type DueReporter interface {
	NextDue(ctx context.Context) (time.Time, bool, error)
}

type senderRef struct {
	s       Sender
	gen     uint64
	users   int  // sends in flight with s
	retired bool // replaced by SetSender; close when users == 0
	used    bool // sent since the last idle close
}

// Queue delivers the messages of a Store through a Sender: FIFO, one at a
// time by default, each failure handled by its class (see the package
// documentation). The Queue owns its Sender: it closes it (io.Closer) when
// SetSender replaces it and on Close or Shutdown; it never closes the
// Store. It is safe for concurrent use.
type Queue struct {
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	owner string
	lease time.Duration

	mu        sync.Mutex // guards the fields below
	cur       *senderRef
	gen       uint64
	status    string // StatusIdle, StatusDown, StatusPaused when running
	since     time.Time
	holdUntil time.Time // no claims before this while down or paused
	probing   bool      // one worker probes while down or paused
	alarmed   bool      // transport alarm raised for this outage
	clearDue  bool      // an alarm was raised; report AlarmCleared on success
	downSince time.Time // start of the problem clearDue refers to
	lastErr   string
	changed   chan struct{} // closed and replaced on every event
	running   bool
	closed    bool
	stopping  bool
	cancelRun context.CancelFunc
	runDone   chan struct{}
	inflight  int

	sent, failed, retries, expired, dups atomic.Uint64
}

// Validate reports every problem of c, each naming its field.
func (c *Config) Validate() error {
	var l fielderr.List
	if c.Store == nil {
		l.Add("store", "is required")
	}
	if c.Signer != nil && c.Signer.exp > 0 {
		life := c.MaxLifetime
		if life == 0 {
			life = DefaultMaxLifetime
		}
		if c.Signer.exp < life {
			l.Add("signer", "the DKIM expiration %v is shorter than max_lifetime %v: a retried message would carry an expired signature", c.Signer.exp, life)
		}
	}
	if c.Concurrency < 0 || c.Concurrency > maxConcurrency {
		l.Add("concurrency", "must be 0-%d, got %d", maxConcurrency, c.Concurrency)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"probe_interval", c.ProbeInterval}, {"config_retry", c.ConfigRetry},
		{"max_lifetime", c.MaxLifetime}, {"attempt_timeout", c.AttemptTimeout},
		{"poll_interval", c.PollInterval}, {"alarm_after", c.AlarmAfter},
	} {
		if d.v < 0 || d.v > maxDuration {
			l.Add(d.name, "must be between 0 and %s, got %s", maxDuration, d.v)
		}
	}
	if c.IdleClose > maxDuration {
		l.Add("idle_close", "must be at most %s, got %s", maxDuration, c.IdleClose)
	}
	if c.PickupDir != "" {
		if fi, err := os.Stat(c.PickupDir); err != nil || !fi.IsDir() {
			l.Add("pickup_dir", "must be an existing folder, got %q", c.PickupDir)
		}
	}
	return l.Err()
}

// New validates cfg, fills defaults and returns a Queue. It starts no
// goroutine; call Run.
func New(cfg Config) (*Queue, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	def(&cfg.ProbeInterval, DefaultProbeInterval)
	def(&cfg.ConfigRetry, DefaultConfigRetry)
	def(&cfg.MaxLifetime, DefaultMaxLifetime)
	def(&cfg.AttemptTimeout, DefaultAttemptTimeout)
	def(&cfg.IdleClose, DefaultIdleClose)
	def(&cfg.PollInterval, DefaultPollInterval)
	def(&cfg.AlarmAfter, DefaultAlarmAfter)
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Owner == "" {
		h, _ := os.Hostname()
		cfg.Owner = h + ":" + strconv.Itoa(os.Getpid())
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	q := &Queue{cfg: cfg, log: log, now: cfg.Now, owner: cfg.Owner,
		lease: cfg.AttemptTimeout + leaseMargin, changed: make(chan struct{}), status: StatusIdle}
	if cfg.Sender != nil {
		q.gen = 1
		q.cur = &senderRef{s: cfg.Sender, gen: 1}
	}
	return q, nil
}

// notifyLocked wakes every waiting worker.
func (q *Queue) notifyLocked() {
	close(q.changed)
	q.changed = make(chan struct{})
}

func (q *Queue) notify() {
	q.mu.Lock()
	q.notifyLocked()
	q.mu.Unlock()
}

// Enqueue stores msg (finished RFC 5322 bytes, CRLF line endings) for
// delivery to env and returns its ID once it is durable. It returns
// ErrNotConfigured when the queue has no Sender and ErrQueueClosed after
// Close.
func (q *Queue) Enqueue(ctx context.Context, env Envelope, msg []byte) (string, error) {
	q.mu.Lock()
	closed, configured := q.closed, q.cur != nil
	q.mu.Unlock()
	if closed {
		return "", ErrQueueClosed
	}
	if !configured {
		return "", ErrNotConfigured
	}
	if len(msg) == 0 {
		return "", errors.New("mailqueue: message must not be empty")
	}
	if q.cfg.Signer != nil {
		signed, err := q.cfg.Signer.Sign(msg)
		if err != nil {
			return "", fmt.Errorf("mailqueue: dkim: %w", err)
		}
		msg = signed
	}
	m, err := q.cfg.Store.Put(ctx, env, msg, q.now())
	if err != nil {
		return "", err
	}
	q.notify()
	return m.ID, nil
}

// SetSender replaces the Sender (a configuration change): a queue paused
// by a configuration error or probing an unreachable service resumes at
// once. The old Sender is closed (io.Closer) when its in-flight sends end.
// A nil Sender makes the queue "not configured": Enqueue then returns
// ErrNotConfigured and delivery stops; waiting messages are kept.
func (q *Queue) SetSender(s Sender) {
	q.mu.Lock()
	old := q.cur
	q.gen++
	if s != nil {
		q.cur = &senderRef{s: s, gen: q.gen}
	} else {
		q.cur = nil
	}
	if q.status == StatusPaused || q.alarmed {
		q.clearDue = true
		q.downSince = q.since
	}
	q.status = StatusIdle
	q.holdUntil = time.Time{}
	q.probing = false
	q.alarmed = false
	q.since = time.Time{}
	var closeOld Sender
	if old != nil {
		old.retired = true
		if old.users == 0 {
			closeOld = old.s
		}
	}
	q.notifyLocked()
	q.mu.Unlock()
	closeSender(closeOld)
}

func closeSender(s Sender) {
	if c, ok := s.(io.Closer); ok && c != nil {
		_ = c.Close()
	}
}

// Stats returns a snapshot of the queue's state and counters.
func (q *Queue) Stats() Stats {
	st := Stats{Depth: -1, Sent: q.sent.Load(), Failed: q.failed.Load(), Retries: q.retries.Load(),
		Expired: q.expired.Load(), PossibleDuplicates: q.dups.Load()}
	if d, ok := q.cfg.Store.(Depther); ok {
		st.Depth, st.Oldest = d.Depth()
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	st.LastError = q.lastErr
	st.Since = q.since
	switch {
	case q.cur == nil:
		st.Status = StatusNotConfigured
	case !q.running:
		st.Status = StatusStopped
	case q.status == StatusIdle && q.inflight > 0:
		st.Status = StatusSending
	default:
		st.Status = q.status
	}
	return st
}

// Run delivers messages until ctx ends or Close or Shutdown is called. It
// returns nil after Close or Shutdown, ctx's error when ctx ended,
// ErrRunning when the queue is already running and ErrSpoolLocked when the
// store is a Spool that another process owns.
func (q *Queue) Run(ctx context.Context) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrQueueClosed
	}
	if q.running {
		q.mu.Unlock()
		return ErrRunning
	}
	if ex, ok := q.cfg.Store.(interface{ Exclusive() bool }); ok && !ex.Exclusive() {
		q.mu.Unlock()
		return ErrSpoolLocked
	}
	runCtx, cancel := context.WithCancel(ctx)
	q.running = true
	q.cancelRun = cancel
	q.runDone = make(chan struct{})
	q.mu.Unlock()

	var wg sync.WaitGroup
	for range q.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q.worker(runCtx)
		}()
	}
	if q.cfg.PickupDir != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q.pickupLoop(runCtx)
		}()
	}
	wg.Wait()
	cancel()

	q.mu.Lock()
	q.running = false
	closed := q.closed
	var s Sender
	if q.cur != nil {
		s = q.cur.s
	}
	close(q.runDone)
	q.mu.Unlock()
	if closed {
		closeSender(s)
		return nil
	}
	if c, ok := s.(IdleCloser); ok {
		_ = c.CloseIdle()
	}
	return ctx.Err()
}

// Shutdown stops Run gracefully: no new attempt starts, attempts in flight
// may finish until ctx ends, then they are cancelled (their messages stay
// queued). The queue cannot be used afterwards.
func (q *Queue) Shutdown(ctx context.Context) error {
	q.mu.Lock()
	q.closed = true
	q.stopping = true
	done, cancel, running := q.runDone, q.cancelRun, q.running
	q.notifyLocked()
	q.mu.Unlock()
	if !running {
		q.closeIdleSender()
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		cancel()
		<-done
		return ctx.Err()
	}
}

// Close stops Run at once: attempts in flight are cancelled and their
// messages stay queued (an attempt cancelled after the message was handed
// over is retried and flagged as a possible duplicate). Close is
// idempotent. It does not close the Store.
func (q *Queue) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := q.Shutdown(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func (q *Queue) closeIdleSender() {
	q.mu.Lock()
	var s Sender
	if q.cur != nil && q.cur.users == 0 {
		s = q.cur.s
	}
	q.mu.Unlock()
	closeSender(s)
}

// acquire returns the sender to use now, or a reason to wait: the channel
// to wait on and how long at most.
func (q *Queue) acquire() (ref *senderRef, probe bool, wait <-chan struct{}, d time.Duration, stop bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopping {
		return nil, false, nil, 0, true
	}
	wait = q.changed
	if q.cur == nil {
		return nil, false, wait, q.cfg.PollInterval, false
	}
	if q.status == StatusDown || q.status == StatusPaused {
		if q.probing {
			return nil, false, wait, q.cfg.PollInterval, false
		}
		if now := q.now(); now.Before(q.holdUntil) {
			return nil, false, wait, min(q.holdUntil.Sub(now), q.cfg.PollInterval), false
		}
		q.probing = true
		probe = true
	}
	q.cur.users++
	q.inflight++
	return q.cur, probe, nil, 0, false
}

// release gives a sender back after an attempt (or an empty claim).
func (q *Queue) release(ref *senderRef, probe, sent bool) {
	q.mu.Lock()
	ref.users--
	q.inflight--
	if sent {
		ref.used = true
	}
	if probe {
		q.probing = false
	}
	var closeOld Sender
	if ref.retired && ref.users == 0 {
		closeOld = ref.s
	}
	q.notifyLocked()
	q.mu.Unlock()
	closeSender(closeOld)
}

func (q *Queue) worker(ctx context.Context) {
	idleSince := time.Now()
	for {
		if ctx.Err() != nil {
			return
		}
		ref, probe, wait, d, stop := q.acquire()
		if stop {
			return
		}
		if ref == nil {
			q.sleep(ctx, wait, d)
			continue
		}
		items, err := q.cfg.Store.Claim(ctx, q.owner, q.now(), q.lease, 1)
		if err != nil || len(items) == 0 {
			q.release(ref, probe, false)
			if err != nil && ctx.Err() == nil {
				q.log.Error("mailqueue: claim failed", "err", err)
			}
			q.idle(ctx, ref, &idleSince)
			continue
		}
		it := items[0]
		if q.now().Sub(it.Meta.EnqueuedAt) > q.cfg.MaxLifetime {
			q.release(ref, probe, false)
			q.expire(ctx, it.Meta)
			continue
		}
		q.deliver(ctx, ref, probe, it)
		idleSince = time.Now()
	}
}

// idle waits for work; after IdleClose without work it closes the
// Sender's kept connection.
func (q *Queue) idle(ctx context.Context, ref *senderRef, idleSince *time.Time) {
	q.mu.Lock()
	wait := q.changed
	q.mu.Unlock()
	d := q.cfg.PollInterval
	if dr, ok := q.cfg.Store.(DueReporter); ok {
		if next, ok, err := dr.NextDue(ctx); err == nil && ok {
			if until := next.Sub(q.now()); until < d {
				d = max(until, time.Millisecond)
			}
		}
	}
	if q.cfg.IdleClose > 0 {
		left := q.cfg.IdleClose - time.Since(*idleSince)
		q.mu.Lock()
		closeNow := left <= 0 && ref.used && ref.users == 0 && q.inflight == 0 && q.cur == ref
		if closeNow {
			ref.used = false
		}
		q.mu.Unlock()
		if closeNow {
			if c, ok := ref.s.(IdleCloser); ok {
				_ = c.CloseIdle()
				q.log.Debug("mailqueue: idle, closed the sender's kept connections")
			}
		} else if left > 0 && left < d {
			d = left
		}
	}
	q.sleep(ctx, wait, d)
}

func (q *Queue) sleep(ctx context.Context, wait <-chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-wait:
	case <-t.C:
	}
}

func (q *Queue) expire(ctx context.Context, m Meta) {
	err := fmt.Errorf("mailqueue: expired after %s in the queue (max lifetime %s)",
		q.now().Sub(m.EnqueuedAt).Round(time.Second), q.cfg.MaxLifetime)
	reason := err.Error()
	if m.LastError != "" {
		reason += "; last error: " + m.LastError
	}
	if ferr := q.cfg.Store.Fail(ctx, m.ID, Failure{Reason: reason}); ferr != nil {
		q.log.Error("mailqueue: moving expired message to dead letters", "id", m.ID, "err", ferr)
		return
	}
	q.failed.Add(1)
	q.expired.Add(1)
	m.State, m.Reason = StateFailed, reason
	q.log.Warn("mailqueue: message expired", "id", m.ID, "enqueued_at", m.EnqueuedAt)
	if q.cfg.OnFailed != nil {
		q.cfg.OnFailed(m, err)
	}
	q.alarm(Alarm{Kind: AlarmExpired, Err: err, Since: m.EnqueuedAt, MessageID: m.ID})
}

func (q *Queue) alarm(a Alarm) {
	if q.cfg.OnAlarm != nil {
		q.cfg.OnAlarm(a)
	}
}

// deliver makes one attempt and records its outcome.
func (q *Queue) deliver(ctx context.Context, ref *senderRef, probe bool, it Item) {
	m := it.Meta
	sctx, cancel := context.WithTimeout(ctx, q.cfg.AttemptTimeout)
	err := ref.s.Send(sctx, m.Envelope, it.Data)
	cancel()
	// Record the outcome even when Run is being stopped.
	rctx := context.WithoutCancel(ctx)
	now := q.now()
	if err == nil {
		q.release(ref, probe, true)
		// Report the message as it is after this attempt: counted, and
		// delivered rather than leased.
		m.Attempts++
		m.State = StateDelivered
		if aerr := q.cfg.Store.Ack(rctx, m.ID); aerr != nil {
			// The recipient has the message, so it is reported delivered;
			// the lease stays in the store and runs out, then the message
			// is sent again.
			m.AckError = aerr.Error()
			q.log.Error("mailqueue: delivered but not removed from the store (will be sent again: a duplicate)",
				"id", m.ID, "err", aerr)
		} else {
			m.LeaseOwner, m.LeaseExpires = "", time.Time{}
		}
		q.sent.Add(1)
		q.log.Info("mailqueue: delivered", "id", m.ID, "attempts", m.Attempts)
		q.recovered(ref)
		if q.cfg.OnDelivered != nil {
			q.cfg.OnDelivered(m)
		}
		return
	}
	class := ClassOf(err)
	if ctx.Err() != nil && class != ClassAmbiguous && class != ClassPermanent {
		// Stopped while sending: not the message's fault.
		class = ClassTransport
	}
	q.mu.Lock()
	q.lastErr = err.Error()
	q.mu.Unlock()
	var de *DeliveryError
	hint := ""
	if errors.As(err, &de) {
		hint = de.Hint
	}
	switch class {
	case ClassPermanent:
		q.release(ref, probe, true)
		if ferr := q.cfg.Store.Fail(rctx, m.ID, Failure{Reason: err.Error(), Err: err, CountAttempt: true}); ferr != nil {
			q.log.Error("mailqueue: moving message to dead letters", "id", m.ID, "err", ferr)
			return
		}
		q.failed.Add(1)
		m.State, m.Reason = StateFailed, err.Error()
		m.Attempts++
		m.LastError, m.LastClass = err.Error(), class
		m.LeaseOwner, m.LeaseExpires = "", time.Time{}
		q.log.Warn("mailqueue: permanent failure, moved to failed/", "id", m.ID, "err", err)
		q.recovered(ref)
		if q.cfg.OnFailed != nil {
			q.cfg.OnFailed(m, err)
		}
	case ClassTransport, ClassConfig:
		// Keep the message at its place; do not age it.
		if rerr := q.cfg.Store.Release(rctx, m.ID, Outcome{NextAttempt: m.NextAttempt, Err: err}); rerr != nil {
			q.log.Error("mailqueue: releasing message", "id", m.ID, "err", rerr)
		}
		q.hold(ref, class, err, hint, now)
		q.release(ref, probe, true)
	default: // temporary, ambiguous
		attempts := m.Attempts + 1
		o := Outcome{NextAttempt: now.Add(q.cfg.Backoff(attempts, err)), Err: err, CountAttempt: true,
			PossibleDuplicate: class == ClassAmbiguous}
		if rerr := q.cfg.Store.Release(rctx, m.ID, o); rerr != nil {
			q.log.Error("mailqueue: releasing message", "id", m.ID, "err", rerr)
		}
		q.retries.Add(1)
		if class == ClassAmbiguous {
			q.dups.Add(1)
		}
		q.log.Warn("mailqueue: attempt failed, will retry", "id", m.ID, "class", class.String(),
			"next_attempt", o.NextAttempt, "err", err)
		q.release(ref, probe, true)
		q.recovered(ref)
	}
}

// hold stops claiming after a transport or configuration failure.
func (q *Queue) hold(ref *senderRef, class Class, err error, hint string, now time.Time) {
	q.mu.Lock()
	if ref.gen != q.gen || q.stopping {
		// The configuration changed meanwhile; the new one gets its chance.
		q.mu.Unlock()
		return
	}
	var a *Alarm
	if class == ClassConfig {
		if q.status != StatusPaused {
			q.since = now
		}
		q.status = StatusPaused
		q.holdUntil = now.Add(q.cfg.ConfigRetry)
		a = &Alarm{Kind: AlarmConfig, Err: err, Hint: hint, Since: q.since}
	} else {
		if q.status != StatusDown {
			q.since = now
			q.alarmed = false
		}
		q.status = StatusDown
		q.holdUntil = now.Add(q.cfg.ProbeInterval)
		if !q.alarmed && now.Sub(q.since) >= q.cfg.AlarmAfter {
			q.alarmed = true
			a = &Alarm{Kind: AlarmTransport, Err: err, Hint: hint, Since: q.since}
		}
	}
	q.mu.Unlock()
	if class == ClassConfig {
		q.log.Error("mailqueue: configuration error, delivery paused", "err", err, "hint", hint,
			"retry_at", now.Add(q.cfg.ConfigRetry))
	} else {
		q.log.Warn("mailqueue: service unreachable, probing again later", "err", err,
			"probe_at", now.Add(q.cfg.ProbeInterval))
	}
	if a != nil {
		q.alarm(*a)
	}
}

// recovered clears a down or paused state after the server answered.
func (q *Queue) recovered(ref *senderRef) {
	q.mu.Lock()
	if ref.gen != q.gen {
		q.mu.Unlock()
		return
	}
	if q.status != StatusDown && q.status != StatusPaused {
		since, due := q.downSince, q.clearDue
		q.clearDue = false
		q.mu.Unlock()
		if due {
			q.alarm(Alarm{Kind: AlarmCleared, Since: since})
		}
		return
	}
	since, wasAlarmed := q.since, q.status == StatusPaused || q.alarmed || q.clearDue
	q.clearDue = false
	q.status = StatusIdle
	q.since = time.Time{}
	q.holdUntil = time.Time{}
	q.alarmed = false
	q.notifyLocked()
	q.mu.Unlock()
	q.log.Info("mailqueue: delivery works again", "down_since", since)
	if wasAlarmed {
		q.alarm(Alarm{Kind: AlarmCleared, Since: since})
	}
}
