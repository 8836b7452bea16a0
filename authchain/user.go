package authchain

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/ucxkit/ucxkit/internal/secret"
)

// User is a user record as the chain sees it. Which of SSOIdentity,
// LDAPUsername and PBXUsername are non-empty decides which method
// authenticates the user (see Chain).
type User struct {
	// Login is the name typed in the login form, normalized with
	// NormalizeLogin.
	Login string `json:"login"`
	// SSOIdentity is the value of the identity provider's configured claim
	// (email, upn or sub) for this user. Non-empty means SSO applies.
	SSOIdentity string `json:"sso_identity,omitempty"`
	// LDAPUsername is the directory user name (sAMAccountName for Active
	// Directory). Non-empty means AD/LDAP applies.
	LDAPUsername string `json:"ldap_username,omitempty"`
	// LDAPDomain is the user's AD domain (informational; the search base
	// comes from LDAPConfig).
	LDAPDomain string `json:"ldap_domain,omitempty"`
	// PBXUsername is the Cisco UCM end-user id. Non-empty means UCM
	// applies.
	PBXUsername string `json:"pbx_username,omitempty"`
	// PasswordHash is the local password hash: argon2id in PHC format
	// ($argon2id$v=19$m=...,t=...,p=...$salt$hash) or bcrypt ($2a$, $2b$,
	// $2y$) for migrated users. Empty means local login is impossible.
	PasswordHash string `json:"password_hash,omitempty"`
	// Roles are the host application's roles for the user.
	Roles []string `json:"roles,omitempty"`
	// Disabled users are refused by every method.
	Disabled bool `json:"disabled,omitempty"`
}

// Format implements fmt.Formatter: every verb prints the record with a set
// PasswordHash replaced by "[REDACTED]" (a hash in a log is an offline
// cracking target). JSON keeps the hash, since configuration files and
// directories store it.
func (u User) Format(f fmt.State, verb rune) {
	type plain User
	c := plain(u)
	if c.PasswordHash != "" {
		c.PasswordHash = secret.Redacted
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), c)
}

// LogValue implements slog.LogValuer, without the password hash (slog's
// JSON handler would otherwise marshal it).
func (u User) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("login", u.Login)}
	add := func(k, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(k, v))
		}
	}
	add("sso_identity", u.SSOIdentity)
	add("ldap_username", u.LDAPUsername)
	add("ldap_domain", u.LDAPDomain)
	add("pbx_username", u.PBXUsername)
	if u.PasswordHash != "" {
		attrs = append(attrs, slog.String("password_hash", secret.Redacted))
	}
	if len(u.Roles) > 0 {
		attrs = append(attrs, slog.Any("roles", u.Roles))
	}
	if u.Disabled {
		attrs = append(attrs, slog.Bool("disabled", true))
	}
	return slog.GroupValue(attrs...)
}

// Directory finds user records. Implementations must be safe for concurrent
// use and return ErrUserNotFound (possibly wrapped) for an unknown login.
// The login passed in is already normalized with NormalizeLogin.
type Directory interface {
	Lookup(ctx context.Context, login string) (User, error)
}

// SSODirectory is an optional capability of a Directory: finding a user by
// SSO identity. Without it the chain looks the identity up as a login and
// accepts the record only if its SSOIdentity matches.
type SSODirectory interface {
	LookupSSO(ctx context.Context, identity string) (User, error)
}

// HashUpdater is an optional capability of a Directory: storing a new
// password hash. LocalAuthenticator uses it to replace bcrypt and outdated
// argon2id hashes after a successful login.
type HashUpdater interface {
	UpdatePasswordHash(ctx context.Context, login, hash string) error
}

// DirectoryFunc adapts a function to Directory.
type DirectoryFunc func(ctx context.Context, login string) (User, error)

// Lookup calls f.
func (f DirectoryFunc) Lookup(ctx context.Context, login string) (User, error) { return f(ctx, login) }

// NormalizeLogin is the one rule for login names, SSO identities and
// directory keys: trim Unicode white space, apply Unicode full case
// folding, lower-case, then NFC. "  Alice " and "ALICE" are the same login; so are a
// precomposed and a decomposed "é". It allocates only when the input
// changes.
func NormalizeLogin(s string) string {
	s = strings.TrimSpace(s)
	ascii := true
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if c >= 'A' && c <= 'Z' {
			upper = true
		}
	}
	if ascii {
		if !upper {
			return s
		}
		return strings.ToLower(s)
	}
	// A Caser is stateful, so make one per call. Full case folding maps
	// lower-case Cherokee to upper case and x/text folds it back, so the
	// folded form is lower-cased once more to make the rule idempotent.
	return norm.NFC.String(strings.ToLower(cases.Fold().String(norm.NFC.String(s))))
}
