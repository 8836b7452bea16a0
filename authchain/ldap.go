package authchain

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/ucxkit/ucxkit/internal/fielderr"
)

// LDAP defaults.
const (
	// DefaultLDAPUserAttribute is Active Directory's pre-Windows-2000 logon
	// name.
	DefaultLDAPUserAttribute = "sAMAccountName"
	// DefaultLDAPUserFilter selects user objects in Active Directory and
	// person entries (inetOrgPerson and friends) elsewhere.
	DefaultLDAPUserFilter = "(|(objectClass=user)(objectClass=person))"
	// DefaultLDAPPoolSize is the number of idle connections kept.
	DefaultLDAPPoolSize = 4
	// DefaultLDAPTimeout bounds the dial, the TLS handshake and each
	// operation.
	DefaultLDAPTimeout = 10 * time.Second
	// ldapIdleLifetime closes pooled connections idle for longer, before
	// typical server idle timeouts (AD MaxConnIdleTime is 900 s).
	ldapIdleLifetime = 5 * time.Minute
	// startTLSOID is the StartTLS extended operation (RFC 4511 section
	// 4.14).
	startTLSOID = "1.3.6.1.4.1.1466.20037"
)

// Dialer opens network connections; golang.org/x/net/proxy.ContextDialer
// and *net.Dialer satisfy it.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// LDAPConfig configures an LDAPAuthenticator (search-then-bind, RFC 4513
// section 5.1.3). Passwords never cross the network in clear: the URL must
// be ldaps:// or ldap:// with StartTLS.
type LDAPConfig struct {
	// URL is "ldaps://host[:636]" or "ldap://host[:389]" (the latter
	// requires StartTLS). Required.
	URL string `json:"url"`
	// StartTLS upgrades an ldap:// connection with the StartTLS extended
	// operation before anything else is sent.
	StartTLS bool `json:"start_tls"`
	// CAFile is a PEM file of trust anchors for the server certificate.
	// Empty means RootCAs, or the system pool.
	CAFile string `json:"ca_file,omitempty"`
	// RootCAs are trust anchors given in code; they take precedence over
	// CAFile.
	RootCAs *x509.CertPool `json:"-"`
	// ServerName is the name verified in the server certificate. Empty
	// means the URL's host.
	ServerName string `json:"server_name,omitempty"`
	// InsecureSkipVerify disables certificate verification. Only for
	// tests and emergencies; it is logged at every connection.
	InsecureSkipVerify bool `json:"insecure_skip_verify,omitempty"`
	// BindDN is the service account used for the user search. Empty means
	// an anonymous search.
	BindDN string `json:"bind_dn,omitempty"`
	// BindPassword is the service account's password; required with
	// BindDN.
	BindPassword Secret `json:"bind_password,omitzero"`
	// BaseDN is the search base. Required.
	BaseDN string `json:"base_dn"`
	// UserAttribute is matched against User.LDAPUsername. Empty means
	// sAMAccountName; use uid for OpenLDAP.
	UserAttribute string `json:"user_attribute,omitempty"`
	// UserFilter restricts the search ("(objectClass=inetOrgPerson)").
	// Empty means DefaultLDAPUserFilter.
	UserFilter string `json:"user_filter,omitempty"`
	// RequiredGroup is the DN of a group the user must be a member of
	// (member or uniqueMember). Empty means no group check.
	RequiredGroup string `json:"required_group,omitempty"`
	// PoolSize is the number of idle connections kept for reuse. Zero
	// means 4; -1 disables pooling (a connection per authentication).
	PoolSize int `json:"pool_size,omitempty"`
	// Timeout bounds the dial, TLS handshake and each LDAP operation, within
	// the caller's context deadline. Zero means 10 s; at most 5 minutes.
	Timeout Duration `json:"timeout,omitempty"`
	// Dialer opens TCP connections. Nil means a net.Dialer.
	Dialer Dialer `json:"-"`
	// Logger receives connection events. Nil means silent.
	Logger *slog.Logger `json:"-"`
}

var attrNameRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)+)$`)

// Validate reports every problem, naming the JSON fields.
func (c LDAPConfig) Validate() error {
	var l fielderr.List
	if c.URL == "" {
		l.Add("url", "is required")
	} else if u, err := url.Parse(c.URL); err != nil || u.Host == "" || u.Hostname() == "" {
		l.Add("url", "must be ldaps://host[:port] or ldap://host[:port], got %q", c.URL)
	} else {
		switch strings.ToLower(u.Scheme) {
		case "ldaps":
			if c.StartTLS {
				l.Add("start_tls", "must be false with ldaps:// (the connection is already TLS)")
			}
		case "ldap":
			if !c.StartTLS {
				l.Add("start_tls", "must be true with ldap:// so passwords never cross the network in clear (or use ldaps://)")
			}
		default:
			l.Add("url", "scheme must be ldaps or ldap, got %q", u.Scheme)
		}
		if u.Port() != "" {
			if p, err := net.LookupPort("tcp", u.Port()); err != nil || p < 1 || p > 65535 {
				l.Add("url", "port must be 1-65535, got %q", u.Port())
			}
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			l.Add("url", "must not carry a path, query or credentials; use base_dn and bind_dn")
		}
	}
	if c.BaseDN == "" {
		l.Add("base_dn", "is required")
	} else if _, err := ldap.ParseDN(c.BaseDN); err != nil {
		l.Add("base_dn", "is not a valid DN: %v", err)
	}
	if c.BindDN != "" {
		if _, err := ldap.ParseDN(c.BindDN); err != nil {
			l.Add("bind_dn", "is not a valid DN: %v", err)
		}
		if !c.BindPassword.IsSet() {
			l.Add("bind_password", "is required with bind_dn (an empty simple bind is anonymous)")
		}
	} else if c.BindPassword.IsSet() {
		l.Add("bind_dn", "is required with bind_password")
	}
	if c.UserAttribute != "" && !attrNameRE.MatchString(c.UserAttribute) {
		l.Add("user_attribute", "must be an attribute name or OID, got %q", c.UserAttribute)
	}
	if c.UserFilter != "" {
		if _, err := ldap.CompileFilter(c.UserFilter); err != nil {
			l.Add("user_filter", "is not a valid RFC 4515 filter: %v", err)
		}
	}
	if c.RequiredGroup != "" {
		if _, err := ldap.ParseDN(c.RequiredGroup); err != nil {
			l.Add("required_group", "is not a valid DN: %v", err)
		}
	}
	if c.PoolSize < -1 || c.PoolSize > 64 {
		l.Add("pool_size", "must be -1 (no pool), 0 (default 4) or 1-64, got %d", c.PoolSize)
	}
	if c.Timeout < 0 || c.Timeout.D() > 5*time.Minute {
		l.Add("timeout", "must be 0 (default 10s) or up to 5m, got %s", c.Timeout)
	}
	return l.Err()
}

// LDAPAuthenticator checks passwords against Active Directory or another
// LDAP server: it binds as the service account, searches the user by
// UserAttribute (RFC 4515 escaped), binds as the entry found, and checks
// the required group. It keeps a pool of connections and is safe for
// concurrent use. Close it to release the pool.
type LDAPAuthenticator struct {
	cfg LDAPConfig // BindPassword cleared: see bindPassword
	// bindPassword is kept behind a pointer to a string, the one kind fmt
	// never dereferences: fmt ignores methods inside unexported fields and
	// while it reports a bad verb, so a Secret stored in cfg was printed
	// by fmt.Printf("%v", authenticator).
	bindPassword *Secret
	scheme       string
	addr         string
	tls          *tls.Config
	timeout      time.Duration
	dialer       Dialer
	filter       string
	attr         string

	max int // idle connections kept per pool kind; 0 disables pooling

	mu     sync.Mutex // guards idle and closed
	idle   [2][]*ldapConn
	closed bool
}

var _ Authenticator = (*LDAPAuthenticator)(nil)

// ldapConn is a pooled connection and who it is bound as.
type ldapConn struct {
	c        *ldap.Conn
	asSvc    bool // bound as the service account (or anonymous search)
	kind     int  // poolSearch or poolBind
	reused   bool // taken from the pool rather than dialed
	lastUsed time.Time
}

// NewLDAPAuthenticator validates cfg, loads CAFile and returns an
// authenticator. It does not connect; the first Authenticate does.
func NewLDAPAuthenticator(cfg LDAPConfig) (*LDAPAuthenticator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	u, _ := url.Parse(cfg.URL)
	pw := cfg.BindPassword
	a := &LDAPAuthenticator{cfg: cfg, bindPassword: &pw, scheme: strings.ToLower(u.Scheme), timeout: cfg.Timeout.D(), dialer: cfg.Dialer}
	a.cfg.BindPassword = NewSecret("")
	port := u.Port()
	if port == "" {
		port = "389"
		if a.scheme == "ldaps" {
			port = "636"
		}
	}
	a.addr = net.JoinHostPort(u.Hostname(), port)
	if a.timeout == 0 {
		a.timeout = DefaultLDAPTimeout
	}
	if a.dialer == nil {
		a.dialer = &net.Dialer{}
	}
	roots := cfg.RootCAs
	if roots == nil && cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, &FieldError{Field: "ca_file", Problem: fmt.Sprintf("cannot read: %v", err)}
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, &FieldError{Field: "ca_file", Problem: "holds no PEM certificate"}
		}
	}
	name := cfg.ServerName
	if name == "" {
		name = u.Hostname()
	}
	a.tls = &tls.Config{ServerName: name, RootCAs: roots, MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // explicit option
	a.attr = cfg.UserAttribute
	if a.attr == "" {
		a.attr = DefaultLDAPUserAttribute
	}
	a.filter = cfg.UserFilter
	if a.filter == "" {
		a.filter = DefaultLDAPUserFilter
	}
	switch cfg.PoolSize {
	case 0:
		a.max = DefaultLDAPPoolSize
	case -1:
		a.max = 0
	default:
		a.max = cfg.PoolSize
	}
	return a, nil
}

// Close closes the idle connections; later calls to Authenticate dial
// without pooling. It is idempotent.
func (a *LDAPAuthenticator) Close() error {
	a.mu.Lock()
	idle := a.idle
	a.idle, a.closed = [2][]*ldapConn{}, true
	a.mu.Unlock()
	for _, list := range idle {
		for _, c := range list {
			c.c.Close()
		}
	}
	return nil
}

// UserFilter returns the search filter used for username, with username
// escaped as RFC 4515 requires.
func (a *LDAPAuthenticator) UserFilter(username string) string {
	return "(&" + a.filter + "(" + a.attr + "=" + ldap.EscapeFilter(username) + "))"
}

func (a *LDAPAuthenticator) log(ctx context.Context, level slog.Level, msg string, args ...any) {
	if a.cfg.Logger != nil {
		a.cfg.Logger.Log(ctx, level, msg, args...)
	}
}

// Authenticate implements Authenticator for user.LDAPUsername. An empty
// password is refused before any connection is made.
//
// With pooling, the search runs on a connection that stays bound as the
// service account and the user bind on another one, so a pooled login
// costs two round trips and never has to re-bind; without pooling, one
// connection does everything and is closed.
func (a *LDAPAuthenticator) Authenticate(ctx context.Context, user User, password string) error {
	if password == "" {
		return denied(MethodLDAP, ReasonEmptyPassword, nil)
	}
	if user.LDAPUsername == "" {
		return denied(MethodLDAP, ReasonInvalidCredentials, errors.New("user has no ldap username"))
	}
	if err := ctx.Err(); err != nil {
		return unavailable(MethodLDAP, ReasonTimeout, err)
	}
	if a.max == 0 {
		lc, err := a.dial(ctx)
		if err != nil {
			return err
		}
		defer lc.c.Close()
		return a.authenticateOn(ctx, lc, lc, user.LDAPUsername, password)
	}
	for attempt := 0; ; attempt++ {
		svc, err := a.serviceConn(ctx)
		if err != nil {
			return err
		}
		bind, err := a.get(ctx, poolBind)
		if err != nil {
			a.release(svc, false)
			return err
		}
		reused := svc.reused || bind.reused
		err = a.authenticateOn(ctx, svc, bind, user.LDAPUsername, password)
		var ae *AuthError
		if attempt == 0 && reused && errors.As(err, &ae) && ae.Reason == ReasonUnreachable && !ae.bindSent && ctx.Err() == nil {
			// A pooled connection the server closed while idle; the
			// password was not sent yet, so one retry on fresh
			// connections is safe.
			continue
		}
		return err
	}
}

// serviceConn returns a connection bound as the service account. A pooled
// connection that fails the cheap re-check is replaced once by a new one.
func (a *LDAPAuthenticator) serviceConn(ctx context.Context) (*ldapConn, error) {
	lc, err := a.get(ctx, poolSearch)
	if err != nil {
		return nil, err
	}
	if lc.asSvc {
		return lc, nil
	}
	lc.c.SetTimeout(a.opTimeout(ctx))
	stop := context.AfterFunc(ctx, func() { lc.c.Close() })
	defer stop()
	if err := a.bindService(lc); err != nil {
		cerr := a.classifyOn(ctx, lc, err, true)
		lc.c.Close()
		return nil, cerr
	}
	return lc, nil
}

// release returns lc to its pool when healthy, else closes it. With
// pooling off, the caller closes the single connection.
func (a *LDAPAuthenticator) release(lc *ldapConn, healthy bool) {
	if a.max == 0 {
		return
	}
	if healthy {
		a.put(lc)
		return
	}
	lc.c.Close()
}

// authenticateOn runs search-then-bind: the search (and group check) on
// svc, the user bind on bind (the same connection when pooling is off).
func (a *LDAPAuthenticator) authenticateOn(ctx context.Context, svc, bind *ldapConn, username, password string) (retErr error) {
	svcOK, bindOK, sent := false, false, false
	defer func() {
		if ae, ok := retErr.(*AuthError); ok && sent {
			ae.bindSent = true
		}
		if svc != bind {
			a.release(svc, svcOK)
			a.release(bind, bindOK)
		} else {
			a.release(svc, svcOK && bindOK)
		}
	}()
	stop := context.AfterFunc(ctx, func() { svc.c.Close(); bind.c.Close() })
	defer stop()
	t := a.opTimeout(ctx)
	svc.c.SetTimeout(t)
	bind.c.SetTimeout(t)

	if !svc.asSvc {
		if err := a.bindService(svc); err != nil {
			return a.classifyOn(ctx, svc, err, true)
		}
	}
	res, err := svc.c.Search(ldap.NewSearchRequest(a.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, int(a.timeout/time.Second), false, a.UserFilter(username), []string{"1.1"}, nil))
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return a.classifyOn(ctx, svc, err, false)
	}
	svcOK, bindOK = true, true
	switch {
	case res == nil || len(res.Entries) == 0:
		return denied(MethodLDAP, ReasonInvalidCredentials, nil)
	case len(res.Entries) > 1:
		return denied(MethodLDAP, ReasonAmbiguousUser, fmt.Errorf("%d entries match %s", len(res.Entries), a.attr))
	}
	dn := res.Entries[0].DN
	if dn == "" {
		// A bind with an empty name is anonymous (RFC 4513 section 5.1.2);
		// never send the password with it.
		return unavailable(MethodLDAP, ReasonServerError, errors.New("search returned an entry without a DN"))
	}
	bind.asSvc = false
	sent = true
	if err := bind.c.Bind(dn, password); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			return denied(MethodLDAP, adReason(err), ldapCause(err))
		}
		bindOK = false
		return a.classifyOn(ctx, bind, err, false)
	}
	if a.cfg.RequiredGroup == "" {
		return nil
	}
	if !svc.asSvc {
		if err := a.bindService(svc); err != nil {
			svcOK = false
			return a.classifyOn(ctx, svc, err, true)
		}
	}
	filter := "(|(member=" + ldap.EscapeFilter(dn) + ")(uniqueMember=" + ldap.EscapeFilter(dn) + "))"
	g, err := svc.c.Search(ldap.NewSearchRequest(a.cfg.RequiredGroup, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		1, int(a.timeout/time.Second), false, filter, []string{"1.1"}, nil))
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		svcOK = false
		return a.classifyOn(ctx, svc, err, false)
	}
	if g == nil || len(g.Entries) == 0 {
		return denied(MethodLDAP, ReasonNotInGroup, nil)
	}
	return nil
}

func (a *LDAPAuthenticator) bindService(lc *ldapConn) error {
	var err error
	if a.cfg.BindDN == "" {
		err = lc.c.UnauthenticatedBind("")
	} else {
		err = lc.c.Bind(a.cfg.BindDN, a.bindPassword.Reveal())
	}
	lc.asSvc = err == nil
	return err
}

// opTimeout is the per-operation timeout: Timeout, or less when ctx ends
// sooner.
func (a *LDAPAuthenticator) opTimeout(ctx context.Context) time.Duration {
	t := a.timeout
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < t {
			t = max(left, time.Millisecond)
		}
	}
	return t
}

// Pool kinds: connections kept bound as the service account for searches,
// and connections used for user binds.
const (
	poolSearch = 0
	poolBind   = 1
)

// get returns a pooled connection of kind or dials a new one.
func (a *LDAPAuthenticator) get(ctx context.Context, kind int) (*ldapConn, error) {
	now := time.Now()
	a.mu.Lock()
	idle := &a.idle[kind]
	for len(*idle) > 0 {
		lc := (*idle)[len(*idle)-1]
		*idle = (*idle)[:len(*idle)-1]
		if lc.c.IsClosing() || now.Sub(lc.lastUsed) > ldapIdleLifetime {
			lc.c.Close()
			continue
		}
		a.mu.Unlock()
		lc.reused = true
		return lc, nil
	}
	a.mu.Unlock()
	lc, err := a.dial(ctx)
	if err != nil {
		return nil, err
	}
	lc.kind = kind
	return lc, nil
}

func (a *LDAPAuthenticator) put(lc *ldapConn) {
	lc.lastUsed = time.Now()
	lc.reused = false
	a.mu.Lock()
	idle := &a.idle[lc.kind]
	if !a.closed && len(*idle) < a.max && !lc.c.IsClosing() {
		*idle = append(*idle, lc)
		a.mu.Unlock()
		return
	}
	a.mu.Unlock()
	lc.c.Close()
}

// dial connects, performs the TLS handshake (LDAPS) or StartTLS, all
// within Timeout and ctx.
func (a *LDAPAuthenticator) dial(ctx context.Context) (*ldapConn, error) {
	dctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	raw, err := a.dialer.DialContext(dctx, "tcp", a.addr)
	if err != nil {
		return nil, a.classify(ctx, err, false)
	}
	if a.cfg.InsecureSkipVerify {
		a.log(ctx, slog.LevelWarn, "authchain: ldap certificate verification is disabled", "addr", a.addr)
	}
	deadline, _ := dctx.Deadline()
	_ = raw.SetDeadline(deadline)
	var c *ldap.Conn
	if a.scheme == "ldaps" {
		tc := tls.Client(raw, a.tls)
		if err := tc.HandshakeContext(dctx); err != nil {
			raw.Close()
			return nil, a.classify(ctx, err, false)
		}
		c = ldap.NewConn(tc, true)
	} else {
		c = ldap.NewConn(raw, false)
	}
	c.Start()
	c.SetTimeout(a.timeout)
	if a.cfg.StartTLS {
		stop := context.AfterFunc(dctx, func() { c.Close() })
		err := c.StartTLS(a.tls)
		stop()
		if err != nil {
			c.Close()
			switch {
			case ctx.Err() != nil:
				return nil, a.classify(ctx, err, false)
			case dctx.Err() != nil:
				return nil, unavailable(MethodLDAP, ReasonTimeout, fmt.Errorf("starttls: %w", ldapCause(err)))
			case !ldap.IsErrorWithCode(err, ldap.ErrorNetwork):
				return nil, unavailable(MethodLDAP, ReasonServerError, fmt.Errorf("starttls refused: %w", ldapCause(err)))
			}
			return nil, a.classify(ctx, tlsErr{err}, false)
		}
	}
	_ = raw.SetDeadline(time.Time{})
	return &ldapConn{c: c}, nil
}

// tlsErr marks a StartTLS failure, which go-ldap reports as text only.
type tlsErr struct{ err error }

// Error returns the underlying text.
func (e tlsErr) Error() string { return e.err.Error() }

// Unwrap returns the underlying error.
func (e tlsErr) Unwrap() error { return e.err }

// classify maps a failure that is not a verdict on the user's password.
// service marks a service-account bind.
func (a *LDAPAuthenticator) classify(ctx context.Context, err error, service bool) error {
	return a.classifyOn(ctx, nil, err, service)
}

// classifyOn is classify for a failure on lc: a connection that is closing
// after the failure was lost (go-ldap reports that as text only).
func (a *LDAPAuthenticator) classifyOn(ctx context.Context, lc *ldapConn, err error, service bool) error {
	if ctx.Err() != nil {
		return unavailable(MethodLDAP, ReasonTimeout, fmt.Errorf("%w (%v)", ctx.Err(), err))
	}
	if service && ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		return unavailable(MethodLDAP, ReasonConfig, fmt.Errorf("service account bind rejected: %w", ldapCause(err)))
	}
	var (
		ne   net.Error
		cve  *tls.CertificateVerificationError
		uae  x509.UnknownAuthorityError
		he   x509.HostnameError
		cie  x509.CertificateInvalidError
		rhe  tls.RecordHeaderError
		alrt tls.AlertError
		te   tlsErr
	)
	switch {
	case errors.As(err, &cve), errors.As(err, &uae), errors.As(err, &he), errors.As(err, &cie),
		errors.As(err, &rhe), errors.As(err, &alrt):
		return unavailable(MethodLDAP, ReasonTLS, err)
	case errors.As(err, &te):
		if strings.Contains(err.Error(), "timed out") {
			return unavailable(MethodLDAP, ReasonTimeout, err)
		}
		return unavailable(MethodLDAP, ReasonTLS, err)
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return unavailable(MethodLDAP, ReasonTimeout, err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return unavailable(MethodLDAP, ReasonUnreachable, ldapCause(err))
	case ldap.IsErrorWithCode(err, ldap.ErrorNetwork):
		if strings.Contains(err.Error(), "timed out") {
			return unavailable(MethodLDAP, ReasonTimeout, ldapCause(err))
		}
		return unavailable(MethodLDAP, ReasonUnreachable, ldapCause(err))
	case errors.As(err, &ne):
		return unavailable(MethodLDAP, ReasonUnreachable, err)
	case lc != nil && lc.c.IsClosing():
		return unavailable(MethodLDAP, ReasonUnreachable, ldapCause(err))
	default:
		return unavailable(MethodLDAP, ReasonServerError, ldapCause(err))
	}
}

// ldapCause strips the BER packet from an *ldap.Error, keeping its text.
func ldapCause(err error) error {
	var le *ldap.Error
	if errors.As(err, &le) {
		return &ldap.Error{Err: le.Err, ResultCode: le.ResultCode, MatchedDN: le.MatchedDN}
	}
	return err
}

// adDataRE finds Active Directory's sub-code in a bind diagnostic message:
// "80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error,
// data 775, v3839".
var adDataRE = regexp.MustCompile(`(?i)\bdata ([0-9a-f]{3,8})\b`)

// adReason maps AD's sub-codes (MS-ADTS / Win32 error codes in hex) to
// Reasons; anything else is invalid credentials.
func adReason(err error) Reason {
	m := adDataRE.FindStringSubmatch(err.Error())
	if m == nil {
		return ReasonInvalidCredentials
	}
	switch strings.ToLower(m[1]) {
	case "530", "531": // ERROR_INVALID_LOGON_HOURS, ERROR_INVALID_WORKSTATION
		return ReasonLogonRestricted
	case "532": // ERROR_PASSWORD_EXPIRED
		return ReasonPasswordExpired
	case "533": // ERROR_ACCOUNT_DISABLED
		return ReasonAccountDisabled
	case "701": // ERROR_ACCOUNT_EXPIRED
		return ReasonAccountExpired
	case "773": // ERROR_PASSWORD_MUST_CHANGE
		return ReasonMustChangePassword
	case "775": // ERROR_ACCOUNT_LOCKED_OUT
		return ReasonAccountLocked
	default: // 525 no such user, 52e bad password, ...
		return ReasonInvalidCredentials
	}
}
