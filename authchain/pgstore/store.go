package pgstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ucxkit/ucxkit/authchain"
	"github.com/ucxkit/ucxkit/internal/fielderr"
	"github.com/ucxkit/ucxkit/internal/pgschema"
)

// DefaultCleanupInterval is how often expired sessions are deleted when
// Options.CleanupInterval is zero.
const DefaultCleanupInterval = 10 * time.Minute

// minCleanupInterval keeps a misconfigured node from hammering the table.
const minCleanupInterval = time.Second

// FieldError is one validation problem of Options, naming its field.
type FieldError = fielderr.Error

// Options configures Open and Connect. The zero value is ready to use.
type Options struct {
	// CleanupInterval is how often the store deletes expired sessions
	// (DeleteExpired) in the background. Zero means 10 minutes; negative
	// disables it (call DeleteExpired yourself). At least 1 s. Every node
	// may clean: the DELETE is idempotent.
	CleanupInterval time.Duration `json:"cleanup_interval,omitempty"`
	// Now is the clock of the background cleanup. Nil means time.Now.
	Now func() time.Time `json:"-"`
	// Logger receives cleanup events and errors (never session IDs). Nil
	// is silent.
	Logger *slog.Logger `json:"-"`
}

// Validate reports every problem of o, naming the field.
func (o Options) Validate() error {
	var l fielderr.List
	if o.CleanupInterval > 0 && o.CleanupInterval < minCleanupInterval {
		l.Add("cleanup_interval", "must be negative (off), 0 (default) or at least %s, got %s", minCleanupInterval, o.CleanupInterval)
	}
	return l.Err()
}

// Store is the authchain.Store shared by the nodes of a cluster: a session
// created through one node's Manager is valid on every node. Sessions are
// rows of ucxkit_sessions (pool's current schema) keyed by the 32-byte
// SHA-256 of the cookie token (authchain.Session.ID decoded from hex), so
// a copy of the table lets no one impersonate a user. expires_at, the
// earlier of the idle and absolute expiry, is a generated, indexed column:
// cleanup is one index range DELETE.
//
// A Store is safe for concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	ownPool bool
	now     func() time.Time
	log     *slog.Logger
	closed  atomic.Bool

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

var _ authchain.Store = (*Store)(nil)

// Open returns a Store over pool, creating or migrating the schema first
// (idempotent, under an advisory lock), and starts the background cleanup
// unless it is disabled. The pool stays the caller's.
func Open(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Store, error) {
	if pool == nil {
		return nil, errors.New("authchain/pgstore: pool is nil")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := migrate(ctx, pool); err != nil {
		return nil, err
	}
	s := &Store{pool: pool, now: opts.Now, log: opts.Logger, stop: make(chan struct{}), done: make(chan struct{})}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	every := opts.CleanupInterval
	if every == 0 {
		every = DefaultCleanupInterval
	}
	if every > 0 {
		go s.cleanup(every)
	} else {
		close(s.done)
	}
	return s, nil
}

// Connect opens a pool for dsn (a postgres:// URL or key=value string) and
// returns a Store that owns it: Close closes the pool. A search_path
// parameter in dsn ("...?sslmode=verify-full&search_path=ucxkit")
// selects the schema.
func Connect(ctx context.Context, dsn string, opts Options) (*Store, error) {
	s, err := pgschema.Connect(ctx, dsn, "authchain/pgstore", func(pool *pgxpool.Pool) (*Store, error) {
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

func (s *Store) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return ErrClosed
	}
	return nil
}

// key decodes a Session.ID: 64 lower-case hex digits.
func key(id string) ([]byte, bool) {
	if len(id) != 64 {
		return nil, false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return nil, false
		}
	}
	b, err := hex.DecodeString(id)
	return b, err == nil
}

// dbTime is t as PostgreSQL keeps it: UTC, microseconds.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Create implements authchain.Store.
func (s *Store) Create(ctx context.Context, ses authchain.Session) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	k, ok := key(ses.ID)
	if !ok {
		return ErrInvalidID
	}
	if ses.Login == "" {
		return errors.New("authchain/pgstore: session has no login")
	}
	roles := ses.Roles
	if roles == nil {
		roles = []string{}
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO ucxkit_sessions
		(id, login, roles, remember, created_at, last_seen, idle_expires_at, absolute_expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
		k, ses.Login, roles, ses.Remember, dbTime(ses.CreatedAt), dbTime(ses.LastSeen),
		dbTime(ses.IdleExpiresAt), dbTime(ses.AbsoluteExpiresAt))
	if err != nil {
		return fmt.Errorf("authchain/pgstore: create: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return authchain.ErrSessionExists
	}
	return nil
}

// Get implements authchain.Store. An ID that is not a session hash is
// simply not found.
func (s *Store) Get(ctx context.Context, id string) (authchain.Session, error) {
	if err := s.check(ctx); err != nil {
		return authchain.Session{}, err
	}
	k, ok := key(id)
	if !ok {
		return authchain.Session{}, authchain.ErrSessionNotFound
	}
	ses := authchain.Session{ID: id}
	err := s.pool.QueryRow(ctx, `SELECT login, roles, remember, created_at, last_seen, idle_expires_at, absolute_expires_at
		FROM ucxkit_sessions WHERE id = $1`, k).Scan(&ses.Login, &ses.Roles, &ses.Remember, &ses.CreatedAt,
		&ses.LastSeen, &ses.IdleExpiresAt, &ses.AbsoluteExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return authchain.Session{}, authchain.ErrSessionNotFound
	}
	if err != nil {
		return authchain.Session{}, fmt.Errorf("authchain/pgstore: get: %w", err)
	}
	if len(ses.Roles) == 0 {
		ses.Roles = nil
	}
	ses.CreatedAt = ses.CreatedAt.UTC()
	ses.LastSeen = ses.LastSeen.UTC()
	ses.IdleExpiresAt = ses.IdleExpiresAt.UTC()
	ses.AbsoluteExpiresAt = ses.AbsoluteExpiresAt.UTC()
	return ses, nil
}

// Touch implements authchain.Store.
func (s *Store) Touch(ctx context.Context, id string, lastSeen, idleExpiresAt time.Time) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	k, ok := key(id)
	if !ok {
		return authchain.ErrSessionNotFound
	}
	tag, err := s.pool.Exec(ctx, `UPDATE ucxkit_sessions SET last_seen = $2, idle_expires_at = $3 WHERE id = $1`,
		k, dbTime(lastSeen), dbTime(idleExpiresAt))
	if err != nil {
		return fmt.Errorf("authchain/pgstore: touch: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return authchain.ErrSessionNotFound
	}
	return nil
}

// Delete implements authchain.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	k, ok := key(id)
	if !ok {
		return authchain.ErrSessionNotFound
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM ucxkit_sessions WHERE id = $1`, k)
	if err != nil {
		return fmt.Errorf("authchain/pgstore: delete: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return authchain.ErrSessionNotFound
	}
	return nil
}

// DeleteUser implements authchain.Store.
func (s *Store) DeleteUser(ctx context.Context, login string) (int, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM ucxkit_sessions WHERE login = $1`, login)
	if err != nil {
		return 0, fmt.Errorf("authchain/pgstore: delete user: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// DeleteExpired implements authchain.Store: it deletes the sessions whose
// earlier expiry is not after now.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM ucxkit_sessions WHERE expires_at <= $1`, dbTime(now))
	if err != nil {
		return 0, fmt.Errorf("authchain/pgstore: delete expired: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// Count returns the number of stored sessions, expired ones included.
func (s *Store) Count(ctx context.Context) (int, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM ucxkit_sessions`).Scan(&n); err != nil {
		return 0, fmt.Errorf("authchain/pgstore: count: %w", err)
	}
	return n, nil
}

// cleanup deletes expired sessions every interval until Close.
func (s *Store) cleanup(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), every)
		go func() {
			select {
			case <-s.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		n, err := s.DeleteExpired(ctx, s.now())
		cancel()
		switch {
		case err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, context.Canceled):
			s.log.Warn("authchain/pgstore: deleting expired sessions", "err", err)
		case n > 0:
			s.log.Info("authchain/pgstore: deleted expired sessions", "count", n)
		}
	}
}

// Close stops the background cleanup and, for a Store made by Connect,
// closes the pool. Later calls return ErrClosed. It is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		close(s.stop)
		<-s.done
		if s.ownPool {
			s.pool.Close()
		}
	})
	return nil
}
