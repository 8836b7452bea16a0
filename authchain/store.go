package authchain

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"sync"
	"time"
)

// Session is one logged-in browser session as kept by a Store. It holds the
// hash of the cookie token, never the token itself, so a leaked store does
// not let anyone impersonate a user.
type Session struct {
	// ID is the lower-case hex SHA-256 of the 32-byte random cookie token
	// (64 characters). It is the store key.
	ID string `json:"id"`
	// Login is the normalized login of the user (User.Login).
	Login string `json:"login"`
	// Roles are the user's roles at login time.
	Roles []string `json:"roles,omitempty"`
	// Remember is true for a persistent ("remember logged in user")
	// session with the long inactivity timeout.
	Remember bool `json:"remember"`
	// CreatedAt is when the user logged in (kept across token renewals).
	CreatedAt time.Time `json:"created_at"`
	// LastSeen is the time of the last recorded activity (throttled by
	// SessionConfig.TouchInterval).
	LastSeen time.Time `json:"last_seen"`
	// IdleExpiresAt is LastSeen plus the inactivity timeout.
	IdleExpiresAt time.Time `json:"idle_expires_at"`
	// AbsoluteExpiresAt is CreatedAt plus the absolute lifetime; no
	// activity extends it.
	AbsoluteExpiresAt time.Time `json:"absolute_expires_at"`
}

// ExpiresAt returns the earlier of IdleExpiresAt and AbsoluteExpiresAt.
func (s *Session) ExpiresAt() time.Time {
	if s.AbsoluteExpiresAt.Before(s.IdleExpiresAt) {
		return s.AbsoluteExpiresAt
	}
	return s.IdleExpiresAt
}

// Expired reports whether the session is expired at now.
func (s *Session) Expired(now time.Time) bool { return !now.Before(s.ExpiresAt()) }

// clone returns a deep copy.
func (s Session) clone() Session {
	s.Roles = slices.Clone(s.Roles)
	return s
}

// HashToken returns the Session.ID of a cookie token: the lower-case hex
// SHA-256 of the token string.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Store keeps sessions by their hashed token. Implementations must be safe
// for concurrent use and must honour ctx. The Manager never passes a raw
// token to a Store.
type Store interface {
	// Create stores a new session. s.ID is new; storing over an existing ID
	// returns ErrSessionExists.
	Create(ctx context.Context, s Session) error
	// Get returns the session with id, or ErrSessionNotFound. It may return
	// an expired session; the Manager checks expiry.
	Get(ctx context.Context, id string) (Session, error)
	// Touch records activity: it sets LastSeen and IdleExpiresAt of session
	// id, or returns ErrSessionNotFound.
	Touch(ctx context.Context, id string, lastSeen, idleExpiresAt time.Time) error
	// Delete removes session id. Deleting an unknown id returns
	// ErrSessionNotFound.
	Delete(ctx context.Context, id string) error
	// DeleteUser removes every session of login (after a password change
	// or when an account is disabled) and returns how many it removed.
	DeleteUser(ctx context.Context, login string) (int, error)
	// DeleteExpired removes the sessions whose ExpiresAt is not after now
	// and returns how many it removed.
	DeleteExpired(ctx context.Context, now time.Time) (int, error)
}

// MemoryStore is a Store in process memory, for a single node and for
// tests. It is safe for concurrent use. Sessions are lost on restart.
type MemoryStore struct {
	mu       sync.RWMutex       // guards sessions
	sessions map[string]Session // by ID
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{sessions: make(map[string]Session)}
}

// Create implements Store.
func (m *MemoryStore) Create(ctx context.Context, s Session) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.ID == "" {
		return errEmptySessionID
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sessions[s.ID]; ok {
		return ErrSessionExists
	}
	m.sessions[s.ID] = s.clone()
	return nil
}

// Get implements Store.
func (m *MemoryStore) Get(ctx context.Context, id string) (Session, error) {
	if err := ctx.Err(); err != nil {
		return Session{}, err
	}
	m.mu.RLock()
	s, ok := m.sessions[id]
	m.mu.RUnlock()
	if !ok {
		return Session{}, ErrSessionNotFound
	}
	return s.clone(), nil
}

// Touch implements Store.
func (m *MemoryStore) Touch(ctx context.Context, id string, lastSeen, idleExpiresAt time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return ErrSessionNotFound
	}
	s.LastSeen = lastSeen
	s.IdleExpiresAt = idleExpiresAt
	m.sessions[id] = s
	return nil
}

// Delete implements Store.
func (m *MemoryStore) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sessions[id]; !ok {
		return ErrSessionNotFound
	}
	delete(m.sessions, id)
	return nil
}

// DeleteUser implements Store.
func (m *MemoryStore) DeleteUser(ctx context.Context, login string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for id, s := range m.sessions {
		if s.Login == login {
			delete(m.sessions, id)
			n++
		}
	}
	return n, nil
}

// DeleteExpired implements Store.
func (m *MemoryStore) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for id, s := range m.sessions {
		if s.Expired(now) {
			delete(m.sessions, id)
			n++
		}
	}
	return n, nil
}

// Len returns the number of stored sessions, expired ones included.
func (m *MemoryStore) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.sessions)
}
