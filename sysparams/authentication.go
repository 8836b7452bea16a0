package sysparams

import (
	"time"

	"github.com/ucxkit/ucxkit/authchain"
	"github.com/ucxkit/ucxkit/internal/fielderr"
)

// Duration is the duration type of the authentication section: JSON
// accepts "8d", "1d12h" and every Go duration ("36h"); whole days marshal
// as "8d". It is authchain.Duration.
type Duration = authchain.Duration

// Day is 24 hours.
const Day = authchain.Day

// Session limits of the seed's "User session management".
const (
	// DefaultInactivityTimeout is the seed's default: 8 days.
	DefaultInactivityTimeout = authchain.DefaultInactivityTimeout
	// MaxInactivityTimeout is the seed's upper limit: 30 days.
	MaxInactivityTimeout = authchain.MaxInactivityTimeout
)

// DefaultOrder is the authentication order of a fresh installation: SSO
// (for users with an SSO identity), then local passwords.
const DefaultOrder = authchain.OrderSSOLocal

// Authentication is the seed's "Users Authentication Settings".
type Authentication struct {
	// Order is the chain of methods: one of the five seed orders
	// ("sso>ldap>local", "sso>ucm>local", "sso>local",
	// "sso>ldap>ucm>local", "sso>ucm>ldap>local") or any order of sso,
	// ldap, ucm, local without repeats that ends in local. Default
	// "sso>local".
	Order authchain.Order `json:"order"`
	// RememberUser is "Remember logged in user". Default true.
	RememberUser bool `json:"remember_user"`
	// InactivityTimeout is the sliding idle limit of remembered sessions,
	// > 0 and <= 30 days. Default 8 days. JSON accepts "8d" and Go
	// durations ("36h").
	InactivityTimeout Duration `json:"inactivity_timeout"`
}

// Validate reports every problem, with paths relative to the section. The
// order is checked by authchain; the timeout here, because the session
// configuration reads 0 as "default" while the seed wants a value > 0.
func (a Authentication) Validate() error {
	var l fielderr.List
	l.Merge("order", a.Order.Validate())
	if time.Duration(a.InactivityTimeout) == 0 {
		// authchain reads 0 as its default; the seed wants an explicit value.
		l.Add("inactivity_timeout", "must be > 0 and <= 30d, got %s", a.InactivityTimeout)
	}
	l.Merge("", a.SessionConfig().Validate())
	return l.Err()
}

// SessionConfig returns the authchain session settings: the seed's
// defaults with RememberUser and InactivityTimeout from this section.
func (a Authentication) SessionConfig() authchain.SessionConfig {
	sc := authchain.DefaultSessionConfig()
	sc.RememberUser = a.RememberUser
	sc.InactivityTimeout = a.InactivityTimeout
	return sc
}
