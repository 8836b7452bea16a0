package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ucxkit/ucxkit/internal/pgschema"
	"github.com/ucxkit/ucxkit/mailqueue"
)

// maxLease bounds Options.Lease: a lease is a failover delay, not a
// retention time.
const maxLease = 24 * time.Hour

// minLease is the shortest accepted Options.Lease; renewals run every
// third of it, and anything shorter turns a slow round trip into a
// duplicate delivery.
const minLease = 300 * time.Millisecond

// Options tunes Open and Connect. The zero value is ready to use.
type Options struct {
	// Lease, when positive, replaces the lease duration the runner asks
	// for in Claim, and the store renews the leases of the messages it
	// holds every Lease/3 until Ack, Release or Fail. A short Lease (say
	// 30 s) lets another node take over a dead node's messages quickly,
	// while a live node's long attempt keeps its lease. Zero keeps the
	// runner's lease (mailqueue.Queue asks for AttemptTimeout + 5 min) and
	// renews nothing. It must be 0 or between 300 ms and 24 h.
	Lease time.Duration `json:"lease,omitempty"`
	// Now returns the current time for lease renewals. Nil means
	// time.Now. Nodes' clocks must agree (NTP): a lease is compared with
	// the claiming node's clock.
	Now func() time.Time `json:"-"`
	// Logger receives migration and lease-renewal events. Nil is silent.
	Logger *slog.Logger `json:"-"`
}

// Store is the PostgreSQL mailqueue.Store shared by the nodes of a
// cluster: one row per message in the table ucxkit_mail_queue of the
// connection's current schema (the first existing schema of search_path).
//
// Put is a committed INSERT. Claim picks due messages oldest first with
// SELECT ... FOR UPDATE SKIP LOCKED, so runners on any number of nodes
// never claim the same message twice while its lease holds, and leases it
// with the runner's owner name and an expiry. A message whose lease
// expired (its node died) is claimable again. Release and Fail are fenced
// by a token recorded at Claim: a runner that lost its lease cannot
// overwrite the outcome of the node that took over (ErrLeaseLost).
//
// A Store is safe for concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	ownPool bool
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	closed  atomic.Bool

	mu     sync.Mutex       // guards tokens
	tokens map[string]claim // message ID → our claim of it

	stop      chan struct{} // closed by Close to end the renewer
	renewDone chan struct{} // closed when the renewer has ended
	closeOnce sync.Once
}

var (
	_ mailqueue.Store       = (*Store)(nil)
	_ mailqueue.DueReporter = (*Store)(nil)
)

// Validate reports every problem of o, naming the field.
func (o Options) Validate() error {
	if o.Lease != 0 && (o.Lease < minLease || o.Lease > maxLease) {
		return fmt.Errorf("mailqueue/pgstore: lease: must be 0 or between %s and %s, got %s", minLease, maxLease, o.Lease)
	}
	return nil
}

// Open returns a Store over pool, creating or migrating the schema first
// (idempotent; concurrent Opens wait on an advisory lock). The pool stays
// the caller's: Close does not close it. The pool's search_path selects
// the schema.
func Open(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Store, error) {
	if pool == nil {
		return nil, errors.New("mailqueue/pgstore: pool is nil")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := migrate(ctx, pool); err != nil {
		return nil, err
	}
	s := &Store{pool: pool, opts: opts, log: opts.Logger, now: opts.Now, tokens: map[string]claim{},
		stop: make(chan struct{}), renewDone: make(chan struct{})}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if opts.Lease > 0 {
		go s.renewer()
	} else {
		close(s.renewDone)
	}
	return s, nil
}

// Connect opens a pool for the connection string dsn (a postgres:// URL or
// key=value string, as pgxpool.ParseConfig reads it) and returns a Store
// that owns it: Close closes the pool. A search_path
// parameter in dsn ("...?sslmode=verify-full&search_path=ucxkit")
// selects the schema.
func Connect(ctx context.Context, dsn string, opts Options) (*Store, error) {
	s, err := pgschema.Connect(ctx, dsn, "mailqueue/pgstore", func(pool *pgxpool.Pool) (*Store, error) {
		return Open(ctx, pool, opts)
	})
	if err != nil {
		return nil, err
	}
	s.ownPool = true
	return s, nil
}

// Pool returns the store's connection pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

func (s *Store) check() error {
	if s.closed.Load() {
		return mailqueue.ErrStoreClosed
	}
	return nil
}

// dbTime is t as PostgreSQL keeps it: UTC, microseconds.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// newID returns a unique, time-sortable message ID in the spool's style.
func newID(now time.Time) string {
	return now.UTC().Format("20060102T150405.000000Z") + "-" + randHex(6)
}

// metaCols are the columns scanMeta reads, in order.
const metaCols = `id, state, env_from, env_to, size, enqueued_at, next_attempt, attempts,
	last_error, last_class, possible_duplicate, lease_owner, lease_expires, reason`

func scanMeta(row pgx.Row, extra ...any) (mailqueue.Meta, error) {
	var (
		m       mailqueue.Meta
		state   string
		class   string
		owner   *string
		expires *time.Time
	)
	dst := append([]any{&m.ID, &state, &m.Envelope.From, &m.Envelope.To, &m.Size, &m.EnqueuedAt,
		&m.NextAttempt, &m.Attempts, &m.LastError, &class, &m.PossibleDuplicate, &owner, &expires, &m.Reason}, extra...)
	if err := row.Scan(dst...); err != nil {
		return m, err
	}
	m.State = mailqueue.State(state)
	m.EnqueuedAt = m.EnqueuedAt.UTC()
	m.NextAttempt = m.NextAttempt.UTC()
	if class != "" {
		if err := m.LastClass.UnmarshalText([]byte(class)); err != nil {
			return m, err
		}
	}
	if owner != nil {
		m.LeaseOwner = *owner
	}
	if expires != nil {
		m.LeaseExpires = expires.UTC()
	}
	return m, nil
}

// Put inserts the message and commits before returning: once Put returns
// nil the message survives the loss of any node (and, with PostgreSQL's
// default synchronous_commit, of the database server's power).
func (s *Store) Put(ctx context.Context, env mailqueue.Envelope, data []byte, now time.Time) (mailqueue.Meta, error) {
	if err := s.check(); err != nil {
		return mailqueue.Meta{}, err
	}
	if err := mailqueue.ValidateEnvelope(env); err != nil {
		return mailqueue.Meta{}, err
	}
	at := dbTime(now)
	m := mailqueue.Meta{ID: newID(at), Envelope: mailqueue.Envelope{From: env.From, To: slices.Clone(env.To)},
		State: mailqueue.StateQueued, EnqueuedAt: at, NextAttempt: at, Size: int64(len(data))}
	_, err := s.pool.Exec(ctx, `INSERT INTO ucxkit_mail_queue
		(id, state, env_from, env_to, data, size, enqueued_at, next_attempt)
		VALUES ($1, 'queued', $2, $3, $4, $5, $6, $6)`,
		m.ID, m.Envelope.From, m.Envelope.To, data, m.Size, at)
	if err != nil {
		return mailqueue.Meta{}, fmt.Errorf("mailqueue/pgstore: put: %w", err)
	}
	return m, nil
}

// Claim leases up to max due messages (queued and due at now, or leased
// with an expired lease), oldest EnqueuedAt first, to owner until
// now+lease (Options.Lease when set). Rows other runners are claiming at
// the same moment are skipped, not waited for.
func (s *Store) Claim(ctx context.Context, owner string, now time.Time, lease time.Duration, max int) ([]mailqueue.Item, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if max <= 0 {
		max = 1
	}
	askedLease := lease
	if s.opts.Lease > 0 {
		lease = s.opts.Lease
	}
	at := dbTime(now)
	token := randHex(12)
	rows, err := s.pool.Query(ctx, `WITH due AS (
			SELECT id FROM ucxkit_mail_queue
			WHERE state <> 'failed'
			  AND ((state = 'queued' AND next_attempt <= $1) OR (state = 'leased' AND lease_expires <= $1))
			ORDER BY enqueued_at, id
			LIMIT $2
			FOR UPDATE SKIP LOCKED)
		UPDATE ucxkit_mail_queue q
		SET state = 'leased', lease_owner = $3, lease_expires = $4, lease_token = $5
		FROM due WHERE q.id = due.id
		RETURNING `+qualified("q", metaCols)+`, q.data`,
		at, max, owner, dbTime(now.Add(lease)), token)
	if err != nil {
		return nil, fmt.Errorf("mailqueue/pgstore: claim: %w", err)
	}
	defer rows.Close()
	var items []mailqueue.Item
	for rows.Next() {
		var it mailqueue.Item
		m, err := scanMeta(rows, &it.Data)
		if err != nil {
			return nil, fmt.Errorf("mailqueue/pgstore: claim: %w", err)
		}
		it.Meta = m
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		// Rows leased by a statement whose result was lost come back when
		// their (unrenewed) lease runs out.
		return nil, fmt.Errorf("mailqueue/pgstore: claim: %w", err)
	}
	slices.SortFunc(items, func(a, b mailqueue.Item) int {
		if c := a.Meta.EnqueuedAt.Compare(b.Meta.EnqueuedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Meta.ID, b.Meta.ID)
	})
	// Renewals stop when the runner's own lease would have ended: a runner
	// that never reports back loses the message like a dead one.
	c := claim{token: token, renewUntil: now.Add(askedLease)}
	s.mu.Lock()
	for _, it := range items {
		s.tokens[it.Meta.ID] = c
	}
	s.mu.Unlock()
	return items, nil
}

// qualified prefixes every column of a comma-separated list with alias.
func qualified(alias, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// claim is what a store remembers of a message it claimed.
type claim struct {
	token      string    // lease_token written by Claim (fencing)
	renewUntil time.Time // no renewal after this (Claim's now + asked lease)
}

// takeToken returns and forgets the lease token of our claim of id ("" when
// this store did not claim it). Every outcome forgets the claim, even when
// recording it fails: the lease then runs out and another runner retries,
// instead of a renewed lease parking the message on a live node.
func (s *Store) takeToken(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[id].token
	delete(s.tokens, id)
	return t
}

// Ack deletes a delivered message. It succeeds even if the lease was lost
// meanwhile: the message was delivered, and removing it spares the
// recipient a further copy when the other runner has not sent it yet.
func (s *Store) Ack(ctx context.Context, id string) error {
	if err := s.check(); err != nil {
		return err
	}
	s.takeToken(id)
	tag, err := s.pool.Exec(ctx, `DELETE FROM ucxkit_mail_queue WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("mailqueue/pgstore: ack %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: %s", mailqueue.ErrNotFound, id)
	}
	return nil
}

// attemptArgs are the SQL arguments that record an attempt's outcome: the
// attempts increment and last_error/last_class (nil keeps the old ones).
func attemptArgs(count bool, err error) (inc int, lastErr, lastClass *string) {
	if count {
		inc = 1
	}
	if err != nil {
		e, c := err.Error(), mailqueue.ClassOf(err).String()
		lastErr, lastClass = &e, &c
	}
	return inc, lastErr, lastClass
}

// Release returns a message claimed through this store to the queue with
// the outcome of a failed attempt. It returns ErrLeaseLost when the claim
// is no longer held (the lease expired and another runner claimed the
// message, or this store never claimed it).
func (s *Store) Release(ctx context.Context, id string, o mailqueue.Outcome) error {
	if err := s.check(); err != nil {
		return err
	}
	token := s.takeToken(id)
	inc, lastErr, lastClass := attemptArgs(o.CountAttempt, o.Err)
	tag, err := s.pool.Exec(ctx, `UPDATE ucxkit_mail_queue SET
			state = 'queued', attempts = attempts + $2,
			last_error = coalesce($3, last_error), last_class = coalesce($4, last_class),
			possible_duplicate = possible_duplicate OR $5, next_attempt = $6,
			lease_owner = NULL, lease_expires = NULL, lease_token = NULL
		WHERE id = $1 AND state = 'leased' AND lease_token = $7`,
		id, inc, lastErr, lastClass, o.PossibleDuplicate, dbTime(o.NextAttempt), token)
	if err != nil {
		return fmt.Errorf("mailqueue/pgstore: release %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return s.missing(ctx, id)
	}
	return nil
}

// missing explains why an update of id matched no row.
func (s *Store) missing(ctx context.Context, id string) error {
	var one int
	err := s.pool.QueryRow(ctx, `SELECT 1 FROM ucxkit_mail_queue WHERE id = $1`, id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %s", mailqueue.ErrNotFound, id)
	}
	if err != nil {
		return fmt.Errorf("mailqueue/pgstore: %s: %w", id, err)
	}
	return fmt.Errorf("%w: %s", ErrLeaseLost, id)
}

// Fail moves a message to the dead letters with a readable reason. A
// message claimed through this store must still be held under that claim;
// otherwise only a queued (not leased) message can be failed, as an
// operator tool would. Else it returns ErrLeaseLost.
func (s *Store) Fail(ctx context.Context, id string, f mailqueue.Failure) error {
	if err := s.check(); err != nil {
		return err
	}
	token := s.takeToken(id)
	inc, lastErr, lastClass := attemptArgs(f.CountAttempt, f.Err)
	tag, err := s.pool.Exec(ctx, `UPDATE ucxkit_mail_queue SET
			state = 'failed', reason = $2, failed_at = now(), attempts = attempts + $4,
			last_error = coalesce($5, last_error), last_class = coalesce($6, last_class),
			lease_owner = NULL, lease_expires = NULL, lease_token = NULL
		WHERE id = $1 AND CASE WHEN $3 = '' THEN state = 'queued' ELSE state = 'leased' AND lease_token = $3 END`,
		id, f.Reason, token, inc, lastErr, lastClass)
	if err != nil {
		return fmt.Errorf("mailqueue/pgstore: fail %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return s.missing(ctx, id)
	}
	return nil
}

// List returns the metadata of every message, dead letters included,
// oldest first.
func (s *Store) List(ctx context.Context) ([]mailqueue.Meta, error) {
	return s.list(ctx, "")
}

// ListState returns the metadata of the messages in one state (queued,
// leased or failed), oldest first.
func (s *Store) ListState(ctx context.Context, state mailqueue.State) ([]mailqueue.Meta, error) {
	switch state {
	case mailqueue.StateQueued, mailqueue.StateLeased, mailqueue.StateFailed:
	default:
		return nil, fmt.Errorf("mailqueue/pgstore: state: must be queued, leased or failed, got %q", state)
	}
	return s.list(ctx, state)
}

func (s *Store) list(ctx context.Context, state mailqueue.State) ([]mailqueue.Meta, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+metaCols+` FROM ucxkit_mail_queue
		WHERE $1 = '' OR state = $1 ORDER BY enqueued_at, id`, string(state))
	if err != nil {
		return nil, fmt.Errorf("mailqueue/pgstore: list: %w", err)
	}
	defer rows.Close()
	var out []mailqueue.Meta
	for rows.Next() {
		m, err := scanMeta(rows)
		if err != nil {
			return nil, fmt.Errorf("mailqueue/pgstore: list: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mailqueue/pgstore: list: %w", err)
	}
	return out, nil
}

// Get returns the metadata of one message, or an error wrapping
// mailqueue.ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (mailqueue.Meta, error) {
	if err := s.check(); err != nil {
		return mailqueue.Meta{}, err
	}
	m, err := scanMeta(s.pool.QueryRow(ctx, `SELECT `+metaCols+` FROM ucxkit_mail_queue WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, fmt.Errorf("%w: %s", mailqueue.ErrNotFound, id)
	}
	if err != nil {
		return m, fmt.Errorf("mailqueue/pgstore: get %s: %w", id, err)
	}
	return m, nil
}

// Counts returns the number of messages in each state; every state is
// present, zero when empty.
func (s *Store) Counts(ctx context.Context) (map[mailqueue.State]int, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	out := map[mailqueue.State]int{mailqueue.StateQueued: 0, mailqueue.StateLeased: 0, mailqueue.StateFailed: 0}
	rows, err := s.pool.Query(ctx, `SELECT state, count(*) FROM ucxkit_mail_queue GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("mailqueue/pgstore: counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("mailqueue/pgstore: counts: %w", err)
		}
		out[mailqueue.State(st)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mailqueue/pgstore: counts: %w", err)
	}
	return out, nil
}

// Retry moves a dead letter back to the queue, due at now, keeping its
// attempt count and last error (the operator's "send again").
func (s *Store) Retry(ctx context.Context, id string, now time.Time) error {
	if err := s.check(); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `UPDATE ucxkit_mail_queue SET state = 'queued', next_attempt = $2,
		reason = '', failed_at = NULL WHERE id = $1 AND state = 'failed'`, id, dbTime(now))
	if err != nil {
		return fmt.Errorf("mailqueue/pgstore: retry %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		if _, gerr := s.Get(ctx, id); gerr != nil {
			return gerr
		}
		return fmt.Errorf("%w: %s", ErrNotDeadLetter, id)
	}
	return nil
}

// NextDue returns when the next waiting message becomes claimable (a
// leased one at its lease expiry), and false when none waits. It lets an
// idle mailqueue.Queue sleep exactly that long.
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	if err := s.check(); err != nil {
		return time.Time{}, false, err
	}
	var t *time.Time
	err := s.pool.QueryRow(ctx, `SELECT min(CASE WHEN state = 'leased' THEN lease_expires ELSE next_attempt END)
		FROM ucxkit_mail_queue WHERE state <> 'failed'`).Scan(&t)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("mailqueue/pgstore: next due: %w", err)
	}
	if t == nil {
		return time.Time{}, false, nil
	}
	return t.UTC(), true, nil
}

// renewer extends the leases this store holds every Lease/3.
func (s *Store) renewer() {
	defer close(s.renewDone)
	t := time.NewTicker(s.opts.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		now := s.now()
		s.mu.Lock()
		tokens := make([]string, 0, len(s.tokens))
		for _, c := range s.tokens {
			if now.Before(c.renewUntil) {
				tokens = append(tokens, c.token)
			}
		}
		s.mu.Unlock()
		if len(tokens) == 0 {
			continue
		}
		slices.Sort(tokens)
		tokens = slices.Compact(tokens)
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.Lease/3)
		tag, err := s.pool.Exec(ctx, `UPDATE ucxkit_mail_queue SET lease_expires = $2
			WHERE state = 'leased' AND lease_token = ANY($1)`, tokens, dbTime(now.Add(s.opts.Lease)))
		cancel()
		if err != nil {
			s.log.Warn("mailqueue/pgstore: renewing leases", "err", err)
			continue
		}
		s.log.Debug("mailqueue/pgstore: renewed leases", "messages", tag.RowsAffected())
	}
}

// Close stops lease renewal and, for a Store made by Connect, closes the
// pool. Leases still held expire and other runners take the messages
// over. Close is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		close(s.stop)
		<-s.renewDone
		if s.ownPool {
			s.pool.Close()
		}
	})
	return nil
}
