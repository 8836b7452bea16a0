package authchain

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// MemoryDirectory is a Directory held in memory, keyed by normalized login
// and by normalized SSO identity. It implements SSODirectory and
// HashUpdater and is safe for concurrent use.
type MemoryDirectory struct {
	mu    sync.RWMutex    // guards users and bySSO
	users map[string]User // by normalized login
	bySSO map[string]string
}

var (
	_ Directory    = (*MemoryDirectory)(nil)
	_ SSODirectory = (*MemoryDirectory)(nil)
	_ HashUpdater  = (*MemoryDirectory)(nil)
)

// NewMemoryDirectory returns a directory holding users. Logins and SSO
// identities are normalized with NormalizeLogin; an empty login, a login
// or SSO identity that appears twice, or a password hash CheckPasswordHash
// refuses is an error (caught when the users are loaded, not at the
// user's first login).
func NewMemoryDirectory(users ...User) (*MemoryDirectory, error) {
	d := &MemoryDirectory{users: make(map[string]User, len(users)), bySSO: make(map[string]string)}
	for i, u := range users {
		if err := d.put(u, false); err != nil {
			return nil, fmt.Errorf("authchain: users[%d]: %w", i, err)
		}
	}
	return d, nil
}

// Put adds or replaces the user with u.Login.
func (d *MemoryDirectory) Put(u User) error { return d.put(u, true) }

func (d *MemoryDirectory) put(u User, replace bool) error {
	u.Login = NormalizeLogin(u.Login)
	if u.Login == "" {
		return fmt.Errorf("login is empty")
	}
	if err := CheckPasswordHash(u.PasswordHash); err != nil {
		return fmt.Errorf("password_hash: %s", strings.TrimPrefix(err.Error(), "authchain: "))
	}
	u.Roles = slices.Clone(u.Roles)
	sso := NormalizeLogin(u.SSOIdentity)
	d.mu.Lock()
	defer d.mu.Unlock()
	if old, ok := d.users[u.Login]; ok {
		if !replace {
			return fmt.Errorf("login %q appears twice", u.Login)
		}
		delete(d.bySSO, NormalizeLogin(old.SSOIdentity))
	}
	if sso != "" {
		if other, ok := d.bySSO[sso]; ok && other != u.Login {
			return fmt.Errorf("sso identity %q is also used by %q", sso, other)
		}
		d.bySSO[sso] = u.Login
	}
	d.users[u.Login] = u
	return nil
}

// Lookup implements Directory.
func (d *MemoryDirectory) Lookup(ctx context.Context, login string) (User, error) {
	if err := ctx.Err(); err != nil {
		return User{}, err
	}
	d.mu.RLock()
	u, ok := d.users[NormalizeLogin(login)]
	d.mu.RUnlock()
	if !ok {
		return User{}, ErrUserNotFound
	}
	u.Roles = slices.Clone(u.Roles)
	return u, nil
}

// LookupSSO implements SSODirectory.
func (d *MemoryDirectory) LookupSSO(ctx context.Context, identity string) (User, error) {
	if err := ctx.Err(); err != nil {
		return User{}, err
	}
	d.mu.RLock()
	login, ok := d.bySSO[NormalizeLogin(identity)]
	d.mu.RUnlock()
	if !ok {
		return User{}, ErrUserNotFound
	}
	return d.Lookup(ctx, login)
}

// UpdatePasswordHash implements HashUpdater.
func (d *MemoryDirectory) UpdatePasswordHash(ctx context.Context, login, hash string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	key := NormalizeLogin(login)
	u, ok := d.users[key]
	if !ok {
		return ErrUserNotFound
	}
	u.PasswordHash = hash
	d.users[key] = u
	return nil
}
