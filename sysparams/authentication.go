package sysparams

import (
	"strings"
	"time"

	"github.com/ucxkit/ucxkit/internal/fielderr"
)

// Session limits of the seed's "User session management".
const (
	// DefaultInactivityTimeout is the seed's default: 8 days.
	DefaultInactivityTimeout = 8 * Day
	// MaxInactivityTimeout is the seed's upper limit: 30 days.
	MaxInactivityTimeout = 30 * Day
)

// DefaultOrder is the authentication order of a fresh installation: SSO
// (when the user has an SSO identity), then local passwords.
const DefaultOrder = "sso>local"

// Authentication is the seed's "Users Authentication Settings".
type Authentication struct {
	// Order is the chain of methods ("sso>ldap>local"; the five seed orders
	// or any order of sso, ldap, ucm, local without repeats ending in
	// local). Default "sso>local".
	Order string `json:"order"`
	// RememberUser is "Remember logged in user". Default true.
	RememberUser bool `json:"remember_user"`
	// InactivityTimeout is the sliding idle limit of remembered sessions,
	// > 0 and <= 30 days. Default 8 days. JSON accepts "8d" and Go
	// durations ("36h").
	InactivityTimeout Duration `json:"inactivity_timeout"`
}

// Validate reports every problem, with paths relative to the section.
func (a Authentication) Validate() error {
	var l fielderr.List
	l.Merge("order", validateOrder(a.Order))
	if d := time.Duration(a.InactivityTimeout); d <= 0 || d > MaxInactivityTimeout {
		l.Add("inactivity_timeout", "must be > 0 and <= 30d, got %s", a.InactivityTimeout)
	}
	return l.Err()
}

func validateOrder(o string) error {
	var l fielderr.List
	if o == "" {
		l.Add("", "is mandatory, e.g. \"sso>ldap>local\"")
		return l.Err()
	}
	seen := map[string]bool{}
	ms := strings.Split(o, ">")
	for _, m := range ms {
		switch m {
		case "sso", "ldap", "ucm", "local":
		default:
			l.Add("", "unknown method %s (use sso, ldap, ucm, local)", quote(m))
		}
		if seen[m] {
			l.Add("", "method %s appears more than once", quote(m))
		}
		seen[m] = true
	}
	if ms[len(ms)-1] != "local" {
		l.Add("", "must end with \"local\", got %s", quote(o))
	}
	return l.Err()
}
