package authchain

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/ucxkit/ucxkit/internal/fielderr"
)

// OIDC defaults.
const (
	// DefaultOIDCClaim maps the ID token's email claim to User.SSOIdentity.
	DefaultOIDCClaim = "email"
	// DefaultSSOCookieName holds the sealed state, nonce and PKCE verifier
	// between the start and callback steps.
	DefaultSSOCookieName = "__Host-ucx_sso"
	// ssoFlowLifetime bounds the time between start and callback.
	ssoFlowLifetime = 10 * time.Minute
)

// OIDCConfig configures OpenID Connect single sign-on (OpenID Connect Core
// 1.0, authorization code flow with PKCE, RFC 7636).
type OIDCConfig struct {
	// Issuer is the provider's issuer URL; discovery reads
	// <issuer>/.well-known/openid-configuration. Required, https.
	Issuer string `json:"issuer"`
	// ClientID is the client registered at the provider. Required.
	ClientID string `json:"client_id"`
	// ClientSecret is the client's secret; empty for a public client
	// (PKCE still protects the code).
	ClientSecret Secret `json:"client_secret,omitzero"`
	// RedirectURL is this server's callback URL, registered at the
	// provider. Required, https.
	RedirectURL string `json:"redirect_url"`
	// Claim is the ID token claim that identifies the user: email (the
	// default; refused when email_verified is false), upn (Microsoft
	// Entra ID) or sub.
	Claim string `json:"claim,omitempty"`
	// Scopes requested besides "openid" (always sent). Nil means email
	// and profile.
	Scopes []string `json:"scopes,omitempty"`
	// CookieKey seals the flow cookie (AES-256-GCM): 32 bytes as 64 hex
	// digits or standard base64. Empty means a random key per process,
	// which breaks flows that start on one cluster node and finish on
	// another.
	CookieKey Secret `json:"cookie_key,omitzero"`
	// HTTPClient reaches the provider (discovery, token, JWKS). Nil means
	// http.DefaultClient; pass a proxy-aware client here.
	HTTPClient *http.Client `json:"-"`
	// Logger receives flow failures. Nil means silent.
	Logger *slog.Logger `json:"-"`
}

// Validate reports every problem, naming the JSON fields.
func (c OIDCConfig) Validate() error {
	var l fielderr.List
	checkURL := func(field, v string) {
		if v == "" {
			l.Add(field, "is required")
			return
		}
		u, err := url.Parse(v)
		if err != nil || u.Host == "" {
			l.Add(field, "must be an absolute https URL, got %q", v)
			return
		}
		if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
			l.Add(field, "must use https, got %q", v)
		}
	}
	checkURL("issuer", c.Issuer)
	checkURL("redirect_url", c.RedirectURL)
	if c.ClientID == "" {
		l.Add("client_id", "is required")
	}
	switch c.Claim {
	case "", "email", "upn", "sub":
	default:
		l.Add("claim", "must be email, upn or sub, got %q", c.Claim)
	}
	for i, s := range c.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			l.Add(fmt.Sprintf("scopes[%d]", i), "must be a scope token, got %q", s)
		}
	}
	if c.CookieKey.IsSet() {
		if _, err := parseCookieKey(c.CookieKey.Reveal()); err != nil {
			l.Add("cookie_key", "%v", err)
		}
	}
	return l.Err()
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func parseCookieKey(s string) ([]byte, error) {
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	return nil, errors.New("must be 32 bytes as 64 hex digits or standard base64")
}

// OIDC is an SSOProvider for OpenID Connect. It is safe for concurrent use.
type OIDC struct {
	cfg OIDCConfig // ClientSecret and CookieKey cleared
	// oauth (holding the client secret) and aead (holding the cookie key)
	// are reached through closures: fmt prints a func as an address on
	// every path, including those where it ignores methods (unexported
	// fields, bad verbs), so fmt.Printf("%v", provider) shows no secret.
	oauth    func() *oauth2.Config
	verifier *oidc.IDTokenVerifier
	aead     func() cipher.AEAD
	claim    string
	client   *http.Client
	now      func() time.Time
}

var _ SSOProvider = (*OIDC)(nil)

// NewOIDC validates cfg and fetches the provider's discovery document
// (within ctx). The issuer in the document must equal cfg.Issuer.
func NewOIDC(ctx context.Context, cfg OIDCConfig) (*OIDC, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := &OIDC{cfg: cfg, client: cfg.HTTPClient, claim: cfg.Claim, now: time.Now}
	o.cfg.ClientSecret, o.cfg.CookieKey = NewSecret(""), NewSecret("")
	if o.client == nil {
		o.client = http.DefaultClient
	}
	if o.claim == "" {
		o.claim = DefaultOIDCClaim
	}
	key := make([]byte, 32)
	if cfg.CookieKey.IsSet() {
		key, _ = parseCookieKey(cfg.CookieKey.Reveal())
	} else if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	o.aead = func() cipher.AEAD { return aead }
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, o.client), cfg.Issuer)
	if err != nil {
		return nil, unavailable(MethodSSO, ReasonUnreachable, fmt.Errorf("oidc discovery: %w", err))
	}
	scopes := cfg.Scopes
	if scopes == nil {
		scopes = []string{"email", "profile"}
	}
	all := []string{oidc.ScopeOpenID}
	for _, s := range scopes {
		if s != oidc.ScopeOpenID && !slices.Contains(all, s) {
			all = append(all, s)
		}
	}
	oc := &oauth2.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret.Reveal(),
		Endpoint:     p.Endpoint(),
		RedirectURL:  cfg.RedirectURL,
		Scopes:       all,
	}
	o.oauth = func() *oauth2.Config { return oc }
	o.verifier = p.VerifierContext(oidc.ClientContext(context.WithoutCancel(ctx), o.client), &oidc.Config{ClientID: cfg.ClientID, Now: func() time.Time { return o.now() }})
	return o, nil
}

// ssoFlow is sealed into the flow cookie.
type ssoFlow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	ReturnTo string `json:"r"`
	Expires  int64  `json:"e"`
}

func randToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Begin implements SSOProvider: it sets the sealed flow cookie and
// redirects (302) to the provider's authorization endpoint with state,
// nonce and an S256 PKCE challenge.
func (o *OIDC) Begin(w http.ResponseWriter, r *http.Request, returnTo string) error {
	f := ssoFlow{State: randToken(), Nonce: randToken(), Verifier: oauth2.GenerateVerifier(), ReturnTo: SafeReturnTo(returnTo),
		Expires: o.now().Add(ssoFlowLifetime).Unix()}
	sealed, err := o.seal(f)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: DefaultSSOCookieName, Value: sealed, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: int(ssoFlowLifetime / time.Second)})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, o.oauth().AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier)), http.StatusFound)
	return nil
}

// StartHandler is an http.Handler for Begin with the "return_to" query
// parameter.
func (o *OIDC) StartHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := o.Begin(w, r, r.URL.Query().Get("return_to")); err != nil {
			http.Error(w, "single sign-on is unavailable", http.StatusServiceUnavailable)
		}
	})
}

// Finish implements SSOProvider: it checks state against the flow cookie,
// exchanges the code with the PKCE verifier, verifies the ID token
// (signature, issuer, audience, expiry) and its nonce, and returns the
// configured claim. The flow cookie is cleared, so a callback cannot be
// replayed.
func (o *OIDC) Finish(w http.ResponseWriter, r *http.Request) (string, string, error) {
	ctx := r.Context()
	http.SetCookie(w, &http.Cookie{Name: DefaultSSOCookieName, Value: "", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	c, err := r.Cookie(DefaultSSOCookieName)
	if err != nil {
		return "", "", denied(MethodSSO, ReasonInvalidCredentials, errors.New("oidc: no flow cookie (expired, or started in another browser)"))
	}
	f, err := o.open(c.Value)
	if err != nil {
		return "", "", denied(MethodSSO, ReasonInvalidCredentials, err)
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		cause := fmt.Errorf("oidc: provider error %q: %s", e, q.Get("error_description"))
		if e == "temporarily_unavailable" || e == "server_error" {
			return "", "", unavailable(MethodSSO, ReasonServerError, cause)
		}
		return "", "", denied(MethodSSO, ReasonInvalidCredentials, cause)
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.State)) != 1 {
		return "", "", denied(MethodSSO, ReasonInvalidCredentials, errors.New("oidc: state mismatch"))
	}
	code := q.Get("code")
	if code == "" {
		return "", "", denied(MethodSSO, ReasonInvalidCredentials, errors.New("oidc: no code in callback"))
	}
	tok, err := o.oauth().Exchange(context.WithValue(ctx, oauth2.HTTPClient, o.client), code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode >= 400 && re.Response.StatusCode < 500 && re.ErrorCode != "" && re.ErrorCode != "invalid_client" {
			return "", "", denied(MethodSSO, ReasonInvalidCredentials, fmt.Errorf("oidc: token exchange: %s", re.ErrorCode))
		}
		if errors.As(err, &re) && re.ErrorCode == "invalid_client" {
			return "", "", unavailable(MethodSSO, ReasonConfig, fmt.Errorf("oidc: token exchange: client rejected"))
		}
		return "", "", classifyHTTP(ctx, MethodSSO, fmt.Errorf("oidc: token exchange: %w", err))
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return "", "", unavailable(MethodSSO, ReasonServerError, errors.New("oidc: token response has no id_token"))
	}
	idt, err := o.verifier.Verify(ctx, raw)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) {
			return "", "", classifyHTTP(ctx, MethodSSO, err)
		}
		return "", "", denied(MethodSSO, ReasonInvalidCredentials, err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		return "", "", denied(MethodSSO, ReasonInvalidCredentials, errors.New("oidc: nonce mismatch"))
	}
	id, err := o.identity(idt)
	if err != nil {
		return "", "", denied(MethodSSO, ReasonInvalidCredentials, err)
	}
	return id, f.ReturnTo, nil
}

// identity extracts the configured claim.
func (o *OIDC) identity(idt *oidc.IDToken) (string, error) {
	if o.claim == "sub" {
		if idt.Subject == "" {
			return "", errors.New("oidc: id token has no sub")
		}
		return idt.Subject, nil
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return "", err
	}
	v, _ := claims[o.claim].(string)
	if v == "" {
		return "", fmt.Errorf("oidc: id token has no %s claim", o.claim)
	}
	if o.claim == "email" {
		if ev, present := claims["email_verified"]; present {
			if b, ok := ev.(bool); ok && !b {
				return "", errors.New("oidc: email is not verified")
			}
			if s, ok := ev.(string); ok && s == "false" {
				return "", errors.New("oidc: email is not verified")
			}
		}
	}
	return v, nil
}

func (o *OIDC) seal(f ssoFlow) (string, error) {
	plain, err := json.Marshal(f)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, o.aead().NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	ad := sha256.Sum256([]byte(DefaultSSOCookieName))
	return base64.RawURLEncoding.EncodeToString(o.aead().Seal(nonce, nonce, plain, ad[:])), nil
}

func (o *OIDC) open(v string) (ssoFlow, error) {
	var f ssoFlow
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(b) < o.aead().NonceSize()+o.aead().Overhead() {
		return f, errors.New("oidc: malformed flow cookie")
	}
	ad := sha256.Sum256([]byte(DefaultSSOCookieName))
	plain, err := o.aead().Open(nil, b[:o.aead().NonceSize()], b[o.aead().NonceSize():], ad[:])
	if err != nil {
		return f, errors.New("oidc: flow cookie does not open (forged, or sealed with another key)")
	}
	if err := json.Unmarshal(plain, &f); err != nil {
		return f, errors.New("oidc: malformed flow cookie")
	}
	if o.now().Unix() > f.Expires {
		return f, errors.New("oidc: login flow expired")
	}
	return f, nil
}
