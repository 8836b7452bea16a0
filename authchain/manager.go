package authchain

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"
)

// tokenBytes is the size of a session token: 256 bits from crypto/rand,
// beyond any guessing (OWASP asks for at least 64 bits of entropy).
const tokenBytes = 32

// ManagerOptions are the optional collaborators of a Manager.
type ManagerOptions struct {
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// Rand is the source of token bytes. Nil means crypto/rand.Reader.
	Rand io.Reader
	// Logger receives session events (never tokens). Nil means silent.
	Logger *slog.Logger
}

// Manager issues, checks and ends browser sessions. Tokens are 32 random
// bytes sent in a Secure, HttpOnly, SameSite=Lax cookie and stored only as
// their SHA-256 (Session.ID). A Manager is safe for concurrent use; its
// configuration is fixed at construction.
type Manager struct {
	cfg    SessionConfig
	store  Store
	now    func() time.Time
	rand   io.Reader
	logger *slog.Logger
}

// NewManager validates cfg, fills its defaults and returns a Manager over
// store.
func NewManager(cfg SessionConfig, store Store) (*Manager, error) {
	return NewManagerWithOptions(cfg, store, ManagerOptions{})
}

// NewManagerWithOptions is NewManager with a clock, a random source and a
// logger.
func NewManagerWithOptions(cfg SessionConfig, store Store, opts ManagerOptions) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if store == nil {
		return nil, errors.New("authchain: session store is nil")
	}
	m := &Manager{cfg: cfg.withDefaults(), store: store, now: opts.Now, rand: opts.Rand, logger: opts.Logger}
	if m.now == nil {
		m.now = time.Now
	}
	if m.rand == nil {
		m.rand = rand.Reader
	}
	return m, nil
}

// Config returns the effective configuration (defaults filled in).
func (m *Manager) Config() SessionConfig { return m.cfg }

// Store returns the Manager's store.
func (m *Manager) Store() Store { return m.store }

func (m *Manager) log(ctx context.Context, level slog.Level, msg string, args ...any) {
	if m.logger != nil {
		m.logger.Log(ctx, level, msg, args...)
	}
}

func (m *Manager) newToken() (string, error) {
	var b [tokenBytes]byte
	if _, err := io.ReadFull(m.rand, b[:]); err != nil {
		return "", fmt.Errorf("authchain: session token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// idleFor returns the idle timeout of a session.
func (m *Manager) idleFor(remember bool) time.Duration {
	if remember {
		return m.cfg.InactivityTimeout.D()
	}
	return m.cfg.ShortIdleTimeout.D()
}

// Login starts a session for user and sets its cookie on w. Any session the
// request already carries is deleted first, so the token always changes on
// login (no session fixation). remember asks for a persistent cookie; it
// takes effect only when RememberUser is on.
func (m *Manager) Login(ctx context.Context, w http.ResponseWriter, r *http.Request, user User, remember bool) (*Session, error) {
	if user.Login == "" {
		return nil, errors.New("authchain: login: user has no login")
	}
	if old, ok := m.tokenID(r); ok {
		if err := m.store.Delete(ctx, old); err != nil && !errors.Is(err, ErrSessionNotFound) {
			return nil, fmt.Errorf("authchain: login: delete previous session: %w", err)
		}
	}
	now := m.now()
	persistent := m.cfg.RememberUser && remember
	s := Session{
		Login:             user.Login,
		Roles:             slices.Clone(user.Roles),
		Remember:          persistent,
		CreatedAt:         now,
		LastSeen:          now,
		IdleExpiresAt:     now.Add(m.idleFor(persistent)),
		AbsoluteExpiresAt: now.Add(m.cfg.AbsoluteLifetime.D()),
	}
	if err := m.issue(ctx, w, &s); err != nil {
		return nil, err
	}
	m.log(ctx, slog.LevelInfo, "authchain: session started", "login", s.Login, "remember", persistent)
	return &s, nil
}

// issue stores s under a fresh token and sets the cookie.
func (m *Manager) issue(ctx context.Context, w http.ResponseWriter, s *Session) error {
	token, err := m.newToken()
	if err != nil {
		return err
	}
	s.ID = HashToken(token)
	if err := m.store.Create(ctx, *s); err != nil {
		return fmt.Errorf("authchain: store session: %w", err)
	}
	m.setCookie(w, token, s)
	return nil
}

// Logout deletes the request's session and expires its cookie. It returns
// ErrNoSession when the request carries no session cookie; the cookie is
// cleared in every case.
func (m *Manager) Logout(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	id, ok := m.tokenID(r)
	m.clearCookie(w)
	if !ok {
		return ErrNoSession
	}
	if err := m.store.Delete(ctx, id); err != nil {
		if errors.Is(err, ErrSessionNotFound) {
			return ErrNoSession
		}
		return fmt.Errorf("authchain: logout: %w", err)
	}
	m.log(ctx, slog.LevelInfo, "authchain: session ended")
	return nil
}

// Renew gives the request's session a new token (call it on a privilege
// change): the session keeps its login time and data, the old token stops
// working, and the new cookie is set on w. It returns ErrNoSession when the
// request has no valid session.
func (m *Manager) Renew(ctx context.Context, w http.ResponseWriter, r *http.Request) (*Session, error) {
	s, err := m.Lookup(ctx, r)
	if err != nil {
		return nil, err
	}
	oldID := s.ID
	now := m.now()
	s.LastSeen = now
	s.IdleExpiresAt = now.Add(m.idleFor(s.Remember))
	if err := m.issue(ctx, w, s); err != nil {
		return nil, err
	}
	if err := m.store.Delete(ctx, oldID); err != nil && !errors.Is(err, ErrSessionNotFound) {
		return nil, fmt.Errorf("authchain: renew: delete old session: %w", err)
	}
	return s, nil
}

// Lookup returns the request's valid session without recording activity,
// or ErrNoSession. An expired session is deleted.
func (m *Manager) Lookup(ctx context.Context, r *http.Request) (*Session, error) {
	id, ok := m.tokenID(r)
	if !ok {
		return nil, ErrNoSession
	}
	s, err := m.store.Get(ctx, id)
	if err != nil {
		if errors.Is(err, ErrSessionNotFound) {
			return nil, ErrNoSession
		}
		return nil, fmt.Errorf("authchain: session lookup: %w", err)
	}
	if s.Expired(m.now()) {
		if err := m.store.Delete(ctx, id); err != nil && !errors.Is(err, ErrSessionNotFound) {
			m.log(ctx, slog.LevelWarn, "authchain: delete expired session", "err", err)
		}
		return nil, ErrNoSession
	}
	return &s, nil
}

// DeleteExpired removes expired sessions from the store; call it
// periodically.
func (m *Manager) DeleteExpired(ctx context.Context) (int, error) {
	return m.store.DeleteExpired(ctx, m.now())
}

type ctxKey struct{}

// FromContext returns the session that Middleware attached to ctx.
func FromContext(ctx context.Context) (*Session, bool) {
	s, ok := ctx.Value(ctxKey{}).(*Session)
	return s, ok && s != nil
}

// NewContext returns ctx carrying s (as Middleware does).
func NewContext(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, ctxKey{}, s)
}

// Middleware attaches the request's valid session to its context (read it
// with FromContext) and records activity: the sliding idle expiry is
// extended, but written to the Store at most once per TouchInterval. A
// request without a valid session passes through without one, and a stale
// cookie is cleared. A store failure is logged and the request proceeds
// without a session (fail closed).
func (m *Manager) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		token, ok := m.token(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		id := HashToken(token)
		s, err := m.store.Get(ctx, id)
		if err != nil {
			if !errors.Is(err, ErrSessionNotFound) {
				m.log(ctx, slog.LevelError, "authchain: session store", "err", err)
			} else {
				m.clearCookie(w)
			}
			next.ServeHTTP(w, r)
			return
		}
		now := m.now()
		if s.Expired(now) {
			if err := m.store.Delete(ctx, id); err != nil && !errors.Is(err, ErrSessionNotFound) {
				m.log(ctx, slog.LevelWarn, "authchain: delete expired session", "err", err)
			}
			m.clearCookie(w)
			next.ServeHTTP(w, r)
			return
		}
		if now.Sub(s.LastSeen) >= m.cfg.TouchInterval.D() {
			idle := now.Add(m.idleFor(s.Remember))
			if err := m.store.Touch(ctx, id, now, idle); err != nil {
				m.log(ctx, slog.LevelWarn, "authchain: session touch", "err", err)
			} else {
				s.LastSeen, s.IdleExpiresAt = now, idle
				if s.Remember {
					m.setCookie(w, token, &s)
				}
			}
		}
		next.ServeHTTP(w, r.WithContext(NewContext(ctx, &s)))
	})
}

// RequireSession answers 401 Unauthorized to requests without a session
// attached by Middleware; wrap it inside Middleware.
func RequireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := FromContext(r.Context()); !ok {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// token returns the raw cookie token of r, if it looks like one of ours.
func (m *Manager) token(r *http.Request) (string, bool) {
	c, err := r.Cookie(m.cfg.CookieName)
	if err != nil || len(c.Value) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return "", false
	}
	return c.Value, true
}

func (m *Manager) tokenID(r *http.Request) (string, bool) {
	t, ok := m.token(r)
	if !ok {
		return "", false
	}
	return HashToken(t), true
}

func (m *Manager) setCookie(w http.ResponseWriter, token string, s *Session) {
	c := &http.Cookie{
		Name:     m.cfg.CookieName,
		Value:    token,
		Path:     "/",
		Secure:   true,
		HttpOnly: true,
		SameSite: sameSite,
	}
	if s.Remember {
		exp := s.ExpiresAt()
		c.Expires = exp.UTC()
		// Relative to LastSeen, the moment the expiry was computed, so a
		// fresh 8-day session gets exactly 691200 seconds.
		c.MaxAge = max(1, int(exp.Sub(s.LastSeen)/time.Second))
	}
	m.writeCookie(w, c)
}

func (m *Manager) clearCookie(w http.ResponseWriter) {
	m.writeCookie(w, &http.Cookie{
		Name:     m.cfg.CookieName,
		Value:    "",
		Path:     "/",
		Secure:   true,
		HttpOnly: true,
		SameSite: sameSite,
		MaxAge:   -1,
		Expires:  time.Unix(0, 0).UTC(),
	})
}

func (m *Manager) writeCookie(w http.ResponseWriter, c *http.Cookie) {
	h := w.Header()
	h.Add("Set-Cookie", c.String())
	h.Add("Vary", "Cookie")
	h.Set("Cache-Control", `no-cache="Set-Cookie"`)
}
