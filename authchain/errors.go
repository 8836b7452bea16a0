package authchain

import (
	"errors"
	"fmt"

	"github.com/ucxkit/ucxkit/internal/fielderr"
	"github.com/ucxkit/ucxkit/internal/secret"
)

// Secret is a password, client secret or key that never prints. It is the
// same type in every ucxkit package.
type Secret = secret.Secret

// NewSecret returns a Secret holding v (the empty string gives the unset
// Secret). Secrets of every ucxkit package are the same type.
func NewSecret(v string) Secret { return secret.New(v) }

// FieldError is one validation problem of one configuration field; inspect
// it with errors.As.
type FieldError = fielderr.Error

// Sentinel errors. Every error returned by Chain.Authenticate and by the
// authenticators matches exactly one of the first four with errors.Is.
var (
	// ErrDenied means the deciding method rejected the credentials (wrong
	// password, unknown user, locked account, ...). It is final: the chain
	// never tries another method after it.
	ErrDenied = errors.New("authchain: access denied")
	// ErrUnavailable means the deciding method could not give an answer
	// (network, TLS, timeout, server fault). It is final too: the chain never
	// falls through to a weaker method because a stronger one is down.
	ErrUnavailable = errors.New("authchain: authentication method unavailable")
	// ErrSSORequired means the user authenticates through single sign-on;
	// the host should redirect to the SSO start handler instead of checking a
	// password.
	ErrSSORequired = errors.New("authchain: single sign-on required")
	// ErrNotConfigured means a method in the order, or a method a user
	// needs, has no authenticator configured. (Settings that the server
	// rejects, such as a wrong LDAP service account or AXL user, are
	// ErrUnavailable with ReasonConfig.)
	ErrNotConfigured = errors.New("authchain: authentication method not configured")

	// ErrUserNotFound is returned by Directory.Lookup for an unknown login.
	// The chain turns it into ErrDenied, indistinguishable from a wrong
	// password.
	ErrUserNotFound = errors.New("authchain: user not found")
	// ErrSessionNotFound is returned by Store.Get, Touch and Delete for an
	// unknown or already deleted session.
	ErrSessionNotFound = errors.New("authchain: session not found")
	// ErrNoSession is returned by Manager.Renew and Logout when the request
	// carries no valid session.
	ErrNoSession = errors.New("authchain: no session")

	// ErrSessionExists is returned by Store.Create for an ID that is
	// already stored.
	ErrSessionExists = errors.New("authchain: session id already exists")

	errEmptySessionID = errors.New("authchain: session id is empty")
)

// Reason is a machine-readable detail of an authentication outcome. Reasons
// never depend on whether a login exists: an unknown user and a wrong
// password both give ReasonInvalidCredentials.
type Reason string

// Reasons reported in *AuthError.
const (
	// ReasonInvalidCredentials: wrong password or unknown user.
	ReasonInvalidCredentials Reason = "invalid_credentials"
	// ReasonEmptyPassword: the password was empty; refused before any
	// server is contacted (an empty LDAP simple bind is an anonymous
	// success, RFC 4513 section 5.1.2).
	ReasonEmptyPassword Reason = "empty_password"
	// ReasonAccountLocked: the directory reports the account locked out
	// (AD data 775).
	ReasonAccountLocked Reason = "account_locked"
	// ReasonAccountDisabled: the account is disabled (AD data 533).
	ReasonAccountDisabled Reason = "account_disabled"
	// ReasonAccountExpired: the account has expired (AD data 701).
	ReasonAccountExpired Reason = "account_expired"
	// ReasonPasswordExpired: the password has expired (AD data 532).
	ReasonPasswordExpired Reason = "password_expired"
	// ReasonMustChangePassword: the password must be changed before the
	// first logon (AD data 773).
	ReasonMustChangePassword Reason = "must_change_password"
	// ReasonLogonRestricted: logon is not permitted at this time or from
	// this workstation (AD data 530, 531).
	ReasonLogonRestricted Reason = "logon_restricted"
	// ReasonNotInGroup: the credentials are valid but the user is not a
	// member of the required group.
	ReasonNotInGroup Reason = "not_in_group"
	// ReasonAmbiguousUser: the directory search returned more than one
	// entry for the login.
	ReasonAmbiguousUser Reason = "ambiguous_user"
	// ReasonSSORequired: the user must log in through single sign-on.
	ReasonSSORequired Reason = "sso_required"
	// ReasonUnreachable: the server could not be reached or answered with
	// a transport-level failure.
	ReasonUnreachable Reason = "unreachable"
	// ReasonTimeout: the server did not answer in time.
	ReasonTimeout Reason = "timeout"
	// ReasonTLS: the TLS handshake or certificate verification failed.
	ReasonTLS Reason = "tls"
	// ReasonServerError: the server answered with an error that is not a
	// verdict on the credentials (LDAP busy, SOAP fault, HTTP 5xx).
	ReasonServerError Reason = "server_error"
	// ReasonConfig: the method's own configuration is rejected (service
	// account bind fails, AXL user unauthorized).
	ReasonConfig Reason = "config"
	// ReasonNotConfigured: the user needs a method that has no
	// authenticator.
	ReasonNotConfigured Reason = "not_configured"
)

// AuthError is the typed error of a failed authentication. Kind is one of
// ErrDenied, ErrUnavailable, ErrSSORequired or ErrNotConfigured, so
// errors.Is(err, ErrDenied) works; Cause carries the underlying failure (an
// LDAP result, a network error) and never a password.
type AuthError struct {
	// Method is the method that decided.
	Method Method
	// Reason is the detail of the outcome.
	Reason Reason
	// Kind is the sentinel this error matches.
	Kind error
	// Cause is the underlying error, or nil.
	Cause error

	bindSent bool // the password reached the server (no retry)
}

// Error returns "authchain: <method>: <kind> (<reason>): <cause>".
func (e *AuthError) Error() string {
	kind := "error"
	if e.Kind != nil {
		kind = trimPkg(e.Kind.Error())
	}
	s := "authchain: " + kind + " (" + string(e.Reason) + ")"
	if e.Method != MethodNone {
		s = fmt.Sprintf("authchain: %s: %s (%s)", e.Method, kind, e.Reason)
	}
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Unwrap returns Kind and Cause.
func (e *AuthError) Unwrap() []error {
	out := make([]error, 0, 2)
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.Cause != nil {
		out = append(out, e.Cause)
	}
	return out
}

func trimPkg(s string) string {
	const p = "authchain: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

func denied(m Method, r Reason, cause error) *AuthError {
	return &AuthError{Method: m, Reason: r, Kind: ErrDenied, Cause: cause}
}

func unavailable(m Method, r Reason, cause error) *AuthError {
	return &AuthError{Method: m, Reason: r, Kind: ErrUnavailable, Cause: cause}
}

func notConfigured(m Method, r Reason, cause error) *AuthError {
	return &AuthError{Method: m, Reason: r, Kind: ErrNotConfigured, Cause: cause}
}

// ReasonOf returns the Reason of err's *AuthError, or "" when err has none.
func ReasonOf(err error) Reason {
	var ae *AuthError
	if errors.As(err, &ae) {
		return ae.Reason
	}
	return ""
}
