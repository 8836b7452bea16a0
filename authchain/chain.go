package authchain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
)

// ChainConfig wires a Chain. Methods named in Order must be configured,
// except sso: the seed puts SSO first in every order and skips it "if SSO
// is not used", so a nil SSO makes the sso step inert.
type ChainConfig struct {
	// Order is the method order; required.
	Order Order
	// Directory finds users; required.
	Directory Directory
	// Local checks local passwords. Nil means a LocalAuthenticator with
	// DefaultArgon2Params that rehashes into Directory when it implements
	// HashUpdater.
	Local Authenticator
	// LDAP checks AD/LDAP passwords (usually an *LDAPAuthenticator).
	LDAP Authenticator
	// UCM checks Cisco UCM passwords (usually a *UCMAuthenticator).
	UCM Authenticator
	// SSO is the single sign-on provider (usually an *OIDC).
	SSO SSOProvider
	// Logger receives one record per decision (login, method, outcome,
	// reason; never a password). Nil means silent.
	Logger *slog.Logger
}

// Result is a successful authentication.
type Result struct {
	// User is the directory record.
	User User
	// Method is the method that decided.
	Method Method
}

// LogValue implements slog.LogValuer: the user without the password hash
// (see User.LogValue) and the method.
func (r Result) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("user", r.User), slog.String("method", string(r.Method)))
}

// Chain applies the decision rule described in the package documentation.
// It is safe for concurrent use.
type Chain struct {
	order  []Method
	dir    Directory
	auth   map[Method]Authenticator
	sso    SSOProvider
	dummy  *LocalAuthenticator
	logger *slog.Logger
	ssoDir SSODirectory
}

// NewChain validates cfg and returns a Chain. A method in the order without
// an authenticator is an error matching ErrNotConfigured.
func NewChain(cfg ChainConfig) (*Chain, error) {
	var errs []error
	if err := cfg.Order.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("authchain: order: %w", err))
	}
	if cfg.Directory == nil {
		errs = append(errs, errors.New("authchain: directory: is required"))
	}
	for _, m := range cfg.Order.Methods() {
		switch {
		case m == MethodLDAP && cfg.LDAP == nil:
			errs = append(errs, fmt.Errorf("%w: ldap is in the order %q but has no configuration", ErrNotConfigured, cfg.Order))
		case m == MethodUCM && cfg.UCM == nil:
			errs = append(errs, fmt.Errorf("%w: ucm is in the order %q but has no configuration", ErrNotConfigured, cfg.Order))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var upd HashUpdater
	if u, ok := cfg.Directory.(HashUpdater); ok {
		upd = u
	}
	dummy, err := NewLocalAuthenticator(LocalConfig{Updater: upd, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	if l, ok := cfg.Local.(*LocalAuthenticator); ok && l != nil {
		dummy = l
	}
	c := &Chain{
		order:  cfg.Order.Methods(),
		dir:    cfg.Directory,
		auth:   map[Method]Authenticator{MethodLocal: cfg.Local},
		sso:    cfg.SSO,
		dummy:  dummy,
		logger: cfg.Logger,
	}
	if c.auth[MethodLocal] == nil {
		c.auth[MethodLocal] = dummy
	}
	if cfg.Order.Contains(MethodLDAP) {
		c.auth[MethodLDAP] = cfg.LDAP
	}
	if cfg.Order.Contains(MethodUCM) {
		c.auth[MethodUCM] = cfg.UCM
	}
	if sd, ok := cfg.Directory.(SSODirectory); ok {
		c.ssoDir = sd
	}
	return c, nil
}

// MethodFor returns the method that decides for u: the first method of the
// order whose user field is non-empty (sso: SSOIdentity, when an SSO
// provider is configured; ldap: LDAPUsername; ucm: PBXUsername); local
// otherwise.
func (c *Chain) MethodFor(u User) Method {
	for _, m := range c.order {
		switch m {
		case MethodSSO:
			if c.sso != nil && u.SSOIdentity != "" {
				return m
			}
		case MethodLDAP:
			if u.LDAPUsername != "" {
				return m
			}
		case MethodUCM:
			if u.PBXUsername != "" {
				return m
			}
		case MethodLocal:
			return m
		}
	}
	return MethodLocal
}

// MethodForLogin returns the method that decides for login, for an
// identifier-first login page. Unknown logins report MethodLocal. Note that
// the answer tells a caller which method a login uses; rate-limit it like
// Authenticate.
func (c *Chain) MethodForLogin(ctx context.Context, login string) (Method, error) {
	u, err := c.dir.Lookup(ctx, NormalizeLogin(login))
	if errors.Is(err, ErrUserNotFound) {
		return MethodLocal, nil
	}
	if err != nil {
		return MethodNone, unavailable(MethodNone, ReasonServerError, err)
	}
	return c.MethodFor(u), nil
}

// Authenticate checks a password login. It applies the decision rule: the
// first applicable method decides and its denial or unavailability is
// final. Errors are *AuthError values matching ErrDenied, ErrUnavailable,
// ErrSSORequired or ErrNotConfigured. An empty password is denied before
// the directory is consulted; an unknown login gets a dummy local check
// and the same error as a wrong local password.
func (c *Chain) Authenticate(ctx context.Context, login, password string) (Result, error) {
	res, err := c.authenticate(ctx, login, password)
	if c.logger != nil {
		c.logDecision(ctx, login, res.Method, err)
	}
	return res, err
}

func (c *Chain) authenticate(ctx context.Context, login, password string) (Result, error) {
	if password == "" {
		return Result{}, denied(MethodNone, ReasonEmptyPassword, nil)
	}
	login = NormalizeLogin(login)
	if login == "" {
		c.dummy.Dummy(password)
		return Result{}, denied(MethodLocal, ReasonInvalidCredentials, nil)
	}
	u, err := c.dir.Lookup(ctx, login)
	if err != nil {
		if errors.Is(err, ErrUserNotFound) {
			c.dummy.Dummy(password)
			return Result{}, denied(MethodLocal, ReasonInvalidCredentials, nil)
		}
		if ctx.Err() != nil {
			return Result{}, unavailable(MethodNone, ReasonTimeout, err)
		}
		return Result{}, unavailable(MethodNone, ReasonServerError, fmt.Errorf("directory: %w", err))
	}
	m := c.MethodFor(u)
	if m == MethodSSO {
		return Result{Method: m}, &AuthError{Method: m, Reason: ReasonSSORequired, Kind: ErrSSORequired}
	}
	a := c.auth[m]
	if a == nil {
		return Result{Method: m}, notConfigured(m, ReasonNotConfigured, nil)
	}
	if err := a.Authenticate(ctx, u, password); err != nil {
		return Result{Method: m}, classify(ctx, m, err)
	}
	if u.Disabled {
		return Result{Method: m}, denied(m, ReasonAccountDisabled, nil)
	}
	return Result{User: u, Method: m}, nil
}

// classify turns any authenticator error into an *AuthError of method m.
// Errors that match no sentinel count as ErrUnavailable, never ErrDenied,
// so a broken authenticator cannot be mistaken for a verdict.
func classify(ctx context.Context, m Method, err error) error {
	var ae *AuthError
	if errors.As(err, &ae) {
		if ae.Method == m && ae.Kind != nil {
			return ae
		}
		cp := *ae
		cp.Method = m
		if cp.Kind == nil {
			cp.Kind = ErrUnavailable
		}
		return &cp
	}
	switch {
	case errors.Is(err, ErrDenied):
		return denied(m, ReasonInvalidCredentials, err)
	case errors.Is(err, ErrSSORequired):
		return &AuthError{Method: m, Reason: ReasonSSORequired, Kind: ErrSSORequired, Cause: err}
	case errors.Is(err, ErrNotConfigured):
		return notConfigured(m, ReasonConfig, err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled), ctx.Err() != nil:
		return unavailable(m, ReasonTimeout, err)
	default:
		return unavailable(m, ReasonServerError, err)
	}
}

// AuthenticateSSO finishes an SSO login: it finds the user whose
// SSOIdentity is identity and checks that SSO is the user's method. An
// unknown identity is ErrDenied.
func (c *Chain) AuthenticateSSO(ctx context.Context, identity string) (Result, error) {
	res, err := c.authenticateSSO(ctx, identity)
	if c.logger != nil {
		c.logDecision(ctx, identity, MethodSSO, err)
	}
	return res, err
}

func (c *Chain) authenticateSSO(ctx context.Context, identity string) (Result, error) {
	if c.sso == nil {
		return Result{}, notConfigured(MethodSSO, ReasonNotConfigured, nil)
	}
	id := NormalizeLogin(identity)
	if id == "" {
		return Result{}, denied(MethodSSO, ReasonInvalidCredentials, nil)
	}
	var u User
	var err error
	if c.ssoDir != nil {
		u, err = c.ssoDir.LookupSSO(ctx, id)
	} else {
		u, err = c.dir.Lookup(ctx, id)
		if err == nil && NormalizeLogin(u.SSOIdentity) != id {
			err = ErrUserNotFound
		}
	}
	if errors.Is(err, ErrUserNotFound) {
		return Result{}, denied(MethodSSO, ReasonInvalidCredentials, errors.New("no user has this sso identity"))
	}
	if err != nil {
		return Result{}, unavailable(MethodSSO, ReasonServerError, fmt.Errorf("directory: %w", err))
	}
	if c.MethodFor(u) != MethodSSO {
		return Result{}, denied(MethodSSO, ReasonInvalidCredentials, errors.New("sso does not apply to this user"))
	}
	if u.Disabled {
		return Result{}, denied(MethodSSO, ReasonAccountDisabled, nil)
	}
	return Result{User: u, Method: MethodSSO}, nil
}

// SSOStartHandler redirects to the identity provider. The optional
// "return_to" query parameter is kept if it is a local path ("/x", not
// "//host" or "https://host"), so the flow cannot be used as an open
// redirect. Without an SSO provider it answers 404.
func (c *Chain) SSOStartHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.sso == nil {
			http.NotFound(w, r)
			return
		}
		if err := c.sso.Begin(w, r, SafeReturnTo(r.URL.Query().Get("return_to"))); err != nil {
			http.Error(w, "single sign-on is unavailable", http.StatusServiceUnavailable)
		}
	})
}

// SSOCallbackHandler finishes the SSO flow: it validates the callback,
// maps the identity to a user with AuthenticateSSO, and calls onSuccess
// (typically Manager.Login plus a redirect to returnTo) or onError (nil
// means a plain 403 or 503 page).
func (c *Chain) SSOCallbackHandler(onSuccess func(w http.ResponseWriter, r *http.Request, res Result, returnTo string), onError func(w http.ResponseWriter, r *http.Request, err error)) http.Handler {
	if onError == nil {
		onError = func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNotConfigured) {
				http.Error(w, "single sign-on is unavailable", http.StatusServiceUnavailable)
				return
			}
			http.Error(w, "single sign-on failed", http.StatusForbidden)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.sso == nil {
			onError(w, r, notConfigured(MethodSSO, ReasonNotConfigured, nil))
			return
		}
		identity, returnTo, err := c.sso.Finish(w, r)
		if err != nil {
			err = classify(r.Context(), MethodSSO, err)
			if c.logger != nil {
				c.logDecision(r.Context(), "", MethodSSO, err)
			}
			onError(w, r, err)
			return
		}
		res, err := c.AuthenticateSSO(r.Context(), identity)
		if err != nil {
			onError(w, r, err)
			return
		}
		onSuccess(w, r, res, SafeReturnTo(returnTo))
	})
}

// SafeReturnTo returns p if it is a local absolute path ("/portal?x=1"),
// else "/". Backslashes and control characters are refused because
// browsers treat "\\" like "/" and drop tabs and newlines, which would turn
// "/\t/evil.example" into "//evil.example".
func SafeReturnTo(p string) string {
	if p == "" || p[0] != '/' || strings.HasPrefix(p, "//") || len(p) > 2048 {
		return "/"
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	return p
}

func (c *Chain) logDecision(ctx context.Context, login string, m Method, err error) {
	if err == nil {
		c.logger.InfoContext(ctx, "authchain: authenticated", "login", login, "method", string(m))
		return
	}
	var ae *AuthError
	if errors.As(err, &ae) {
		c.logger.WarnContext(ctx, "authchain: refused", "login", login, "method", string(ae.Method), "reason", string(ae.Reason), "err", err)
		return
	}
	c.logger.WarnContext(ctx, "authchain: refused", "login", login, "err", err)
}
