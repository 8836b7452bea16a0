package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ucxkit/ucxkit/internal/fielderr"
	"github.com/ucxkit/ucxkit/internal/pgschema"
	"github.com/ucxkit/ucxkit/sysparams"
)

// DefaultName is the parameter set used when Options.Name is empty.
const DefaultName = "default"

// DefaultPollInterval is how often a node re-reads the set when no
// notification arrived: a safety net for notifications lost while the
// listening connection was being re-established.
const DefaultPollInterval = 30 * time.Second

// reconnectDelay bounds the pause before re-opening a lost listening
// connection.
const reconnectDelay = 2 * time.Second

// FieldError is one validation problem of Options, naming its field.
type FieldError = fielderr.Error

// Options configures Open and Connect.
type Options struct {
	// Name selects the parameter set (one row): 1-64 letters, digits,
	// '.', '-' or '_'. Empty means "default". Several installations may
	// share one schema under different names.
	Name string `json:"name,omitempty"`
	// Keyring seals the secrets before they are stored and opens them when
	// read; the host supplies it (every node the same keys, for example
	// from sysparams.NewKeyring with a key from its secret manager). Nil
	// is allowed only while the set holds no secret: saving a secret then
	// fails, and reading a stored one returns sysparams.ErrKeyMissing.
	Keyring *sysparams.Keyring `json:"-"`
	// Node is recorded with each saved revision (column updated_by). Empty
	// means the host name.
	Node string `json:"node,omitempty"`
	// PollInterval is how often the set is re-read when no notification
	// arrives. Zero means 30 s; negative disables polling.
	PollInterval time.Duration `json:"poll_interval,omitempty"`
	// NoListen disables LISTEN: subscribers then hear only this store's
	// own updates (and polling, if enabled). For short-lived tools.
	NoListen bool `json:"no_listen,omitempty"`
	// Now stamps saved revisions. Nil means time.Now.
	Now func() time.Time `json:"-"`
	// Logger receives saves, notifications and connection problems. Nil
	// is silent. Secrets are never logged.
	Logger *slog.Logger `json:"-"`
}

// Validate reports every problem of o, naming the field.
func (o Options) Validate() error {
	var l fielderr.List
	if o.Name != "" && !validName(o.Name) {
		l.Add("name", "must be 1-64 letters, digits, '.', '-' or '_', got %q", o.Name)
	}
	if len(o.Node) > 255 {
		l.Add("node", "must be at most 255 bytes, got %d", len(o.Node))
	}
	return l.Err()
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Store is the sysparams.Store shared by the nodes of a cluster: one row
// of the table ucxkit_sysparams (in the pool's current schema) holding the
// same Document the file store writes — parameters with secrets redacted,
// and each secret sealed with the host's Keyring — and a revision.
//
// Update is optimistic: it reads the row, applies the function, and saves
// with UPDATE ... WHERE revision = <the revision read>. When another node
// saved in between, nothing is stored and Update returns a *ConflictError
// (errors.Is sysparams.ErrConflict); the change is rejected, never lost
// or silently merged. Every saved revision is announced with NOTIFY in the
// same transaction; each Store LISTENs on its own connection and delivers
// the change to its subscribers, so every node sees a change within a
// round trip. A node that was disconnected re-reads the set when it
// reconnects and every PollInterval.
//
// A Store is safe for concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	ownPool bool
	name    string
	schema  string
	node    string
	keys    *sysparams.Keyring
	now     func() time.Time
	log     *slog.Logger
	poll    time.Duration
	listens bool // LISTEN on a dedicated connection (not NoListen)
	closed  atomic.Bool
	subs    sysparams.Subscribers

	nmu        sync.Mutex        // guards lastRev, lastParams; held while notifying
	lastRev    int64             // revision last delivered to subscribers
	lastParams *sysparams.Params // parameters at lastRev

	cancel     context.CancelFunc // ends the listener
	listenDone chan struct{}
	closeOnce  sync.Once
}

var _ sysparams.Store = (*Store)(nil)

// Open returns a Store for the set opts.Name over pool, creating or
// migrating the schema first (idempotent, under an advisory lock). Unless
// opts.NoListen, it opens a dedicated listening connection (with the
// pool's connection settings) before it returns, so no change saved after
// Open is missed. The pool stays the caller's.
func Open(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Store, error) {
	if pool == nil {
		return nil, errors.New("sysparams/pgstore: pool is nil")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := migrate(ctx, pool); err != nil {
		return nil, err
	}
	s := &Store{pool: pool, name: opts.Name, node: opts.Node, keys: opts.Keyring, now: opts.Now, log: opts.Logger,
		poll: opts.PollInterval, listens: !opts.NoListen, listenDone: make(chan struct{})}
	if s.name == "" {
		s.name = DefaultName
	}
	if s.node == "" {
		s.node, _ = os.Hostname()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.poll == 0 {
		s.poll = DefaultPollInterval
	}
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&s.schema); err != nil {
		return nil, fmt.Errorf("sysparams/pgstore: open: %w", err)
	}
	var conn *pgx.Conn
	if s.listens {
		var err error
		if conn, err = s.listenConn(ctx); err != nil {
			return nil, err
		}
	}
	// The baseline is read after LISTEN, so a save in between is either in
	// the baseline or announced on conn.
	p, rev, err := s.read(ctx, s.pool)
	if err != nil {
		if conn != nil {
			_ = conn.Close(ctx)
		}
		return nil, err
	}
	s.lastParams, s.lastRev = p, rev
	lctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	if conn == nil && s.poll < 0 {
		close(s.listenDone)
	} else {
		go s.listen(lctx, conn)
	}
	return s, nil
}

// String names the parameter set, schema and node.
func (s *Store) String() string {
	return fmt.Sprintf("sysparams/pgstore.Store{name=%s schema=%s node=%s}", s.name, s.schema, s.node)
}

// Format prints String for every verb: the store keeps the keyring and the
// decrypted parameters, which fmt's reflection would otherwise print for a
// verb such as %s.
func (s *Store) Format(f fmt.State, verb rune) { io.WriteString(f, s.String()) }

// Connect opens a pool for dsn (a postgres:// URL or key=value string) and
// returns a Store that owns it: Close closes the pool. A search_path
// parameter in dsn ("...?sslmode=verify-full&search_path=ucxkit")
// selects the schema.
func Connect(ctx context.Context, dsn string, opts Options) (*Store, error) {
	s, err := pgschema.Connect(ctx, dsn, "sysparams/pgstore", func(pool *pgxpool.Pool) (*Store, error) {
		return Open(ctx, pool, opts)
	})
	if err != nil {
		return nil, err
	}
	s.ownPool = true
	return s, nil
}

// Name returns the parameter set's name.
func (s *Store) Name() string { return s.name }

// Pool returns the store's connection pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// querier is what read needs from a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// read returns the stored set and its revision: Defaults() and 0 when the
// set was never saved.
func (s *Store) read(ctx context.Context, q querier) (*sysparams.Params, int64, error) {
	var (
		rev int64
		doc []byte
	)
	err := q.QueryRow(ctx, `SELECT revision, document FROM ucxkit_sysparams WHERE name = $1`, s.name).Scan(&rev, &doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return sysparams.Defaults(), 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("sysparams/pgstore: read %q: %w", s.name, err)
	}
	d, err := sysparams.ParseDocument(doc)
	if err != nil {
		return nil, 0, fmt.Errorf("sysparams/pgstore: parameter set %q: %w", s.name, err)
	}
	if len(d.Secrets) > 0 && s.keys == nil {
		return nil, 0, fmt.Errorf("sysparams/pgstore: parameter set %q holds %d sealed secrets but no Keyring was given: %w",
			s.name, len(d.Secrets), sysparams.ErrKeyMissing)
	}
	p, err := d.Decode(s.keys)
	if err != nil {
		return nil, 0, fmt.Errorf("sysparams/pgstore: parameter set %q: %w", s.name, err)
	}
	return p, rev, nil
}

func (s *Store) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return sysparams.ErrClosed
	}
	return nil
}

// Load returns a copy of the stored parameters (Defaults() before the
// first save).
func (s *Store) Load(ctx context.Context) (*sysparams.Params, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	p, _, err := s.read(ctx, s.pool)
	return p, err
}

// LoadRevision returns a copy of the stored parameters and their revision
// (0 before the first save), for UpdateRevision.
func (s *Store) LoadRevision(ctx context.Context) (*sysparams.Params, int64, error) {
	if err := s.check(ctx); err != nil {
		return nil, 0, err
	}
	return s.read(ctx, s.pool)
}

// Revision returns the stored revision (0 before the first save).
func (s *Store) Revision(ctx context.Context) (int64, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	var rev int64
	err := s.pool.QueryRow(ctx, `SELECT revision FROM ucxkit_sysparams WHERE name = $1`, s.name).Scan(&rev)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sysparams/pgstore: revision: %w", err)
	}
	return rev, nil
}

// Update implements sysparams.Store: it reads the stored set, calls fn
// with a copy, validates the result and saves it only if no other writer
// saved since the read; otherwise it returns a *ConflictError and stores
// nothing. Subscribers of this Store are called before Update returns;
// those of other nodes through NOTIFY.
func (s *Store) Update(ctx context.Context, fn func(*sysparams.Params) error) (sysparams.Change, error) {
	return s.update(ctx, -1, fn)
}

// UpdateRevision is Update for an edit based on an earlier read (an admin
// form loaded at revision base): it returns a *ConflictError, storing
// nothing, when the stored revision is no longer base.
func (s *Store) UpdateRevision(ctx context.Context, base int64, fn func(*sysparams.Params) error) (sysparams.Change, error) {
	if base < 0 {
		return sysparams.Change{}, fmt.Errorf("sysparams/pgstore: revision must not be negative, got %d", base)
	}
	return s.update(ctx, base, fn)
}

func (s *Store) update(ctx context.Context, base int64, fn func(*sysparams.Params) error) (sysparams.Change, error) {
	if err := s.check(ctx); err != nil {
		return sysparams.Change{}, err
	}
	cur, rev, err := s.read(ctx, s.pool)
	if err != nil {
		return sysparams.Change{}, err
	}
	if base >= 0 && rev != base {
		return sysparams.Change{}, &ConflictError{Name: s.name, Base: base, Current: rev}
	}
	next, err := cur.Clone()
	if err != nil {
		return sysparams.Change{}, err
	}
	if err := fn(next); err != nil {
		return sysparams.Change{}, err
	}
	if err := next.Validate(); err != nil {
		return sysparams.Change{}, &sysparams.ValidationError{Err: err}
	}
	c := sysparams.Diff(cur, next)
	if c.Empty() {
		c.Revision = rev
		return c, nil
	}
	if err := s.save(ctx, next, rev); err != nil {
		return sysparams.Change{}, err
	}
	c.Revision = rev + 1
	s.log.Info("sysparams/pgstore: saved", "name", s.name, "revision", c.Revision, "fields", c.Fields, "restart", c.Restart.String())
	s.advance(rev, cur)
	s.advance(c.Revision, next)
	return c, nil
}

// save writes p as revision rev+1 if the stored revision is still rev,
// and announces it, in one transaction.
func (s *Store) save(ctx context.Context, p *sysparams.Params, rev int64) error {
	d, err := sysparams.NewDocument(p, s.keys, rev+1, s.now())
	if err != nil {
		return fmt.Errorf("sysparams/pgstore: %w", err)
	}
	b, err := d.Marshal()
	if err != nil {
		return fmt.Errorf("sysparams/pgstore: %w", err)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("sysparams/pgstore: save: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	var sql string
	if rev == 0 {
		sql = `INSERT INTO ucxkit_sysparams (name, revision, document, updated_at, updated_by)
			VALUES ($1, $2::bigint + 1, $3, $4, $5) ON CONFLICT (name) DO NOTHING`
	} else {
		sql = `UPDATE ucxkit_sysparams SET revision = $2 + 1, document = $3, updated_at = $4, updated_by = $5
			WHERE name = $1 AND revision = $2`
	}
	tag, err := tx.Exec(ctx, sql, s.name, rev, string(b), d.UpdatedAt, s.node)
	if err != nil {
		return fmt.Errorf("sysparams/pgstore: save: %w", err)
	}
	if tag.RowsAffected() == 0 {
		cur := int64(-1)
		if err := tx.QueryRow(ctx, `SELECT revision FROM ucxkit_sysparams WHERE name = $1`, s.name).Scan(&cur); err != nil {
			cur = -1
		}
		return &ConflictError{Name: s.name, Base: rev, Current: cur}
	}
	msg := payload{Schema: s.schema, Name: s.name, Revision: rev + 1}.encode()
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, msg); err != nil {
		return fmt.Errorf("sysparams/pgstore: notify: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("sysparams/pgstore: save: %w", err)
	}
	return nil
}

// advance delivers the change from the last delivered revision to rev
// (parameters p) to the subscribers, unless rev was already delivered.
// Revisions another node saved while this one was not listening arrive
// merged into one Change.
func (s *Store) advance(rev int64, p *sysparams.Params) {
	s.nmu.Lock()
	defer s.nmu.Unlock()
	if rev <= s.lastRev {
		return
	}
	c := sysparams.Diff(s.lastParams, p)
	c.Revision = rev
	s.lastParams, s.lastRev = p, rev
	if !c.Empty() {
		s.subs.Notify(c)
	}
}

func (s *Store) delivered() int64 {
	s.nmu.Lock()
	defer s.nmu.Unlock()
	return s.lastRev
}

// refresh reads the set and delivers what changed.
func (s *Store) refresh(ctx context.Context) {
	p, rev, err := s.read(ctx, s.pool)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("sysparams/pgstore: reading a changed parameter set", "name", s.name, "err", err)
		}
		return
	}
	s.advance(rev, p)
}

// Reseal rewrites the stored set with every secret sealed by the
// Keyring's current primary key, as a new revision (subscribers see no
// change). Call it on one node after rotating the key (Keyring.Rotate)
// on all of them; afterwards the old key may be retired. It returns the
// new revision, or 0 when the set was never saved.
func (s *Store) Reseal(ctx context.Context) (int64, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	p, rev, err := s.read(ctx, s.pool)
	if err != nil || rev == 0 {
		return 0, err
	}
	if err := s.save(ctx, p, rev); err != nil {
		return 0, err
	}
	s.advance(rev+1, p)
	return rev + 1, nil
}

// Subscribe implements sysparams.Store: fn is called with every change
// saved by any node, in revision order, one call at a time.
func (s *Store) Subscribe(fn func(sysparams.Change)) func() { return s.subs.Subscribe(fn) }

// listenConn opens the dedicated connection and subscribes to channel.
func (s *Store) listenConn(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig)
	if err != nil {
		return nil, fmt.Errorf("sysparams/pgstore: listen: %w", err)
	}
	if _, err := conn.Exec(ctx, `LISTEN `+channel); err != nil {
		_ = conn.Close(ctx)
		return nil, fmt.Errorf("sysparams/pgstore: listen: %w", err)
	}
	return conn, nil
}

// listen receives notifications (and polls every PollInterval) until ctx
// ends, reconnecting after a lost connection and re-reading the set then.
func (s *Store) listen(ctx context.Context, conn *pgx.Conn) {
	defer close(s.listenDone)
	defer func() {
		if conn != nil {
			_ = conn.Close(context.Background())
		}
	}()
	for ctx.Err() == nil {
		if conn == nil && s.listens {
			c, err := s.listenConn(ctx)
			if err != nil {
				s.log.Warn("sysparams/pgstore: listening connection", "err", err)
				sleep(ctx, reconnectDelay)
				continue
			}
			conn = c
			s.refresh(ctx) // changes made while disconnected
		}
		wctx, cancel := ctx, context.CancelFunc(func() {})
		if s.poll > 0 {
			wctx, cancel = context.WithTimeout(ctx, s.poll)
		}
		var n *pgconn.Notification
		var err error
		if conn != nil {
			n, err = conn.WaitForNotification(wctx)
		} else {
			<-wctx.Done()
			err = wctx.Err()
		}
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, context.DeadlineExceeded):
			s.refresh(ctx)
		case err != nil:
			s.log.Warn("sysparams/pgstore: listening connection lost", "err", err)
			_ = conn.Close(context.Background())
			conn = nil
		default:
			s.handle(ctx, n.Payload)
		}
	}
}

// handle acts on one notification.
func (s *Store) handle(ctx context.Context, raw string) {
	p, err := parsePayload(raw)
	if err != nil {
		s.log.Warn("sysparams/pgstore: ignoring notification", "err", err)
		return
	}
	if p.Schema != s.schema || p.Name != s.name || p.Revision <= s.delivered() {
		return
	}
	s.refresh(ctx)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Close stops listening and, for a Store made by Connect, closes the pool.
// Later calls return sysparams.ErrClosed. It is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.cancel()
		<-s.listenDone
		if s.ownPool {
			s.pool.Close()
		}
	})
	return nil
}
