package authchain

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/ucxkit/ucxkit/internal/fielderr"
)

// Session defaults and limits ("User session management" in the seed).
const (
	// DefaultInactivityTimeout is the seed's default for "Remember logged
	// in user".
	DefaultInactivityTimeout = 8 * Day
	// MaxInactivityTimeout is the seed's upper limit ("up to 30 days").
	MaxInactivityTimeout = 30 * Day
	// DefaultShortIdleTimeout applies to sessions without remember-me.
	DefaultShortIdleTimeout = time.Hour
	// DefaultAbsoluteLifetime caps every session, however active.
	DefaultAbsoluteLifetime = 30 * Day
	// MaxAbsoluteLifetime is the largest accepted absolute lifetime.
	MaxAbsoluteLifetime = 365 * Day
	// DefaultCookieName uses the __Host- prefix (RFC 6265bis section
	// 4.1.3.2): the browser accepts it only with Secure, Path=/ and no
	// Domain, so a sibling subdomain cannot overwrite it.
	DefaultCookieName = "__Host-ucx_session"
	// DefaultTouchInterval is the minimum time between two activity writes
	// of one session.
	DefaultTouchInterval = time.Minute
)

// SessionConfig is the "User session management" section. The zero value
// of every duration and of CookieName means its default;
// DefaultSessionConfig and JSON decoding also default RememberUser to
// true, as the seed does. Validate reports problems with the JSON field
// names.
type SessionConfig struct {
	// RememberUser enables "Remember logged in user": a login that asks to
	// be remembered gets a persistent cookie and the sliding
	// InactivityTimeout. Off, every session is a browser-session cookie
	// with ShortIdleTimeout. Default true (in DefaultSessionConfig and in
	// JSON without the field); the Go zero value is false.
	RememberUser bool `json:"remember_user"`
	// InactivityTimeout is the sliding idle limit of remembered sessions.
	// Zero means 8 days; it must be > 0 and <= 30 days.
	InactivityTimeout Duration `json:"inactivity_timeout"`
	// ShortIdleTimeout is the idle limit of sessions that are not
	// remembered. Zero means 1 hour; at most InactivityTimeout's limit of
	// 30 days.
	ShortIdleTimeout Duration `json:"short_idle_timeout"`
	// AbsoluteLifetime caps a session from its login, whatever the
	// activity. Zero means 30 days; it must be at least the inactivity
	// timeout and at most 365 days.
	AbsoluteLifetime Duration `json:"absolute_lifetime"`
	// CookieName is the session cookie's name. Zero means
	// "__Host-ucx_session".
	CookieName string `json:"cookie_name"`
	// TouchInterval throttles activity writes: a session is written back
	// to the Store at most once per interval. Zero means 1 minute; it must
	// be shorter than ShortIdleTimeout.
	TouchInterval Duration `json:"touch_interval"`
}

// DefaultSessionConfig returns the seed's defaults: remember on, 8 days of
// inactivity, 1 hour for browser sessions, 30 days absolute.
func DefaultSessionConfig() SessionConfig {
	return SessionConfig{
		RememberUser:      true,
		InactivityTimeout: Duration(DefaultInactivityTimeout),
		ShortIdleTimeout:  Duration(DefaultShortIdleTimeout),
		AbsoluteLifetime:  Duration(DefaultAbsoluteLifetime),
		CookieName:        DefaultCookieName,
		TouchInterval:     Duration(DefaultTouchInterval),
	}
}

// UnmarshalJSON decodes over DefaultSessionConfig, so a missing field keeps
// its default (remember_user true in particular).
func (c *SessionConfig) UnmarshalJSON(b []byte) error {
	type plain SessionConfig
	v := plain(DefaultSessionConfig())
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*c = SessionConfig(v)
	return nil
}

// withDefaults returns c with zero values replaced by defaults.
func (c SessionConfig) withDefaults() SessionConfig {
	if c.InactivityTimeout == 0 {
		c.InactivityTimeout = Duration(DefaultInactivityTimeout)
	}
	if c.ShortIdleTimeout == 0 {
		c.ShortIdleTimeout = Duration(DefaultShortIdleTimeout)
	}
	if c.AbsoluteLifetime == 0 {
		c.AbsoluteLifetime = Duration(DefaultAbsoluteLifetime)
	}
	if c.CookieName == "" {
		c.CookieName = DefaultCookieName
	}
	if c.TouchInterval == 0 {
		c.TouchInterval = Duration(DefaultTouchInterval)
	}
	return c
}

// Validate reports every problem, naming the JSON field:
// "inactivity_timeout: must be > 0 and <= 30d, got 31d".
func (c SessionConfig) Validate() error {
	var l fielderr.List
	if c.InactivityTimeout < 0 || c.InactivityTimeout.D() > MaxInactivityTimeout {
		l.Add("inactivity_timeout", "must be > 0 and <= 30d, got %s", c.InactivityTimeout)
	}
	if c.ShortIdleTimeout < 0 || c.ShortIdleTimeout.D() > MaxInactivityTimeout {
		l.Add("short_idle_timeout", "must be > 0 and <= 30d, got %s", c.ShortIdleTimeout)
	}
	if c.AbsoluteLifetime < 0 || c.AbsoluteLifetime.D() > MaxAbsoluteLifetime {
		l.Add("absolute_lifetime", "must be > 0 and <= 365d, got %s", c.AbsoluteLifetime)
	}
	if c.TouchInterval < 0 {
		l.Add("touch_interval", "must not be negative, got %s", c.TouchInterval)
	}
	d := c.withDefaults()
	if c.AbsoluteLifetime > 0 && c.AbsoluteLifetime.D() <= MaxAbsoluteLifetime && c.InactivityTimeout >= 0 && c.InactivityTimeout.D() <= MaxInactivityTimeout {
		if d.AbsoluteLifetime < d.InactivityTimeout {
			l.Add("absolute_lifetime", "must be at least inactivity_timeout (%s), got %s", d.InactivityTimeout, d.AbsoluteLifetime)
		}
	}
	if c.TouchInterval > 0 && c.ShortIdleTimeout >= 0 && d.TouchInterval >= d.ShortIdleTimeout {
		l.Add("touch_interval", "must be shorter than short_idle_timeout (%s), got %s", d.ShortIdleTimeout, d.TouchInterval)
	}
	if c.CookieName != "" {
		if !validCookieName(c.CookieName) {
			l.Add("cookie_name", "must be a cookie token (letters, digits, and !#$%%&'*+-.^_`|~), got %q", c.CookieName)
		} else if strings.HasPrefix(strings.ToLower(c.CookieName), "__secure-") {
			l.Add("cookie_name", "use the __Host- prefix or none; __Secure- allows a Domain attribute, got %q", c.CookieName)
		}
	}
	return l.Err()
}

// validCookieName reports whether s is an RFC 6265 cookie-name token.
func validCookieName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// sameSite is fixed: Lax lets the top-level redirect back from an identity
// provider carry the cookie, which Strict would not.
const sameSite = http.SameSiteLaxMode
