package authchain

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeIdP is an httptest OpenID provider: discovery, JWKS, and a token
// endpoint that checks the client, the redirect URI and the PKCE verifier
// and returns an RS256 ID token.
type fakeIdP struct {
	srv   *httptest.Server
	key   *rsa.PrivateKey
	mu    sync.Mutex // guards codes and tweak
	codes map[string]idpGrant
	// tweak edits the claims of the next tokens.
	tweak func(map[string]any)
}

type idpGrant struct {
	nonce, challenge string
	claims           map[string]any
}

// One RSA key for every fake provider keeps the tests fast.
var (
	idpKeyOnce sync.Once
	idpKey     *rsa.PrivateKey
	idpKeyErr  error
)

func newFakeIdP(t *testing.T) *fakeIdP {
	t.Helper()
	idpKeyOnce.Do(func() { idpKey, idpKeyErr = rsa.GenerateKey(rand.Reader, 2048) })
	require.NoError(t, idpKeyErr)
	key := idpKey
	p := &fakeIdP{key: key, codes: map[string]idpGrant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		iss := p.srv.URL
		writeJSON(w, 200, map[string]any{
			"issuer": iss, "authorization_endpoint": iss + "/authorize", "token_endpoint": iss + "/token",
			"jwks_uri": iss + "/jwks", "response_types_supported": []string{"code"},
			"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"RS256"},
			"code_challenge_methods_supported": []string{"S256"},
		})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
			"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
		}}})
	})
	mux.HandleFunc("/token", p.token)
	p.srv = httptest.NewTLSServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// login plays the user at the authorization endpoint: it reads the
// request's nonce and PKCE challenge and returns a code for claims.
func (p *fakeIdP) login(t *testing.T, authURL string, claims map[string]any) (code, state string) {
	t.Helper()
	u, err := url.Parse(authURL)
	require.NoError(t, err)
	q := u.Query()
	require.Equal(t, p.srv.URL+"/authorize", u.Scheme+"://"+u.Host+u.Path)
	require.Equal(t, "code", q.Get("response_type"))
	require.Equal(t, "S256", q.Get("code_challenge_method"))
	require.NotEmpty(t, q.Get("code_challenge"))
	require.NotEmpty(t, q.Get("nonce"))
	require.NotEmpty(t, q.Get("state"))
	require.Contains(t, strings.Fields(q.Get("scope")), "openid")
	code = randToken()
	p.mu.Lock()
	p.codes[code] = idpGrant{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), claims: claims}
	p.mu.Unlock()
	return code, q.Get("state")
}

func (p *fakeIdP) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if err := r.ParseForm(); err != nil {
		writeJSON(w, 400, map[string]string{"error": "invalid_request"})
		return
	}
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != "portal" || secret != "client-secret" {
		writeJSON(w, 401, map[string]string{"error": "invalid_client"})
		return
	}
	p.mu.Lock()
	g, found := p.codes[r.PostForm.Get("code")]
	delete(p.codes, r.PostForm.Get("code"))
	tweak := p.tweak
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !found || r.PostForm.Get("grant_type") != "authorization_code" || b64(sum[:]) != g.challenge {
		writeJSON(w, 400, map[string]string{"error": "invalid_grant"})
		return
	}
	now := time.Now()
	claims := map[string]any{"iss": p.srv.URL, "aud": "portal", "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "nonce": g.nonce, "sub": "sub-123"}
	for k, v := range g.claims {
		claims[k] = v
	}
	if tweak != nil {
		tweak(claims)
	}
	writeJSON(w, 200, map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": p.sign(claims)})
}

func (p *fakeIdP) sign(claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": "k1", "typ": "JWT"})
	c, _ := json.Marshal(claims)
	in := b64(h) + "." + b64(c)
	sum := sha256.Sum256([]byte(in))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, p.key, crypto.SHA256, sum[:])
	return in + "." + b64(sig)
}

func (p *fakeIdP) config() OIDCConfig {
	return OIDCConfig{Issuer: p.srv.URL, ClientID: "portal", ClientSecret: NewSecret("client-secret"),
		RedirectURL: "https://portal.example/sso/callback", HTTPClient: p.srv.Client()}
}

type ssoHarness struct {
	chain *Chain
	idp   *fakeIdP
	res   *Result
	err   error
	ret   string
}

func newSSOHarness(t *testing.T, cfg func(*OIDCConfig)) *ssoHarness {
	t.Helper()
	idp := newFakeIdP(t)
	c := idp.config()
	if cfg != nil {
		cfg(&c)
	}
	o, err := NewOIDC(context.Background(), c)
	require.NoError(t, err)
	dir, err := NewMemoryDirectory(
		User{Login: "alice", SSOIdentity: "Alice@Example.com", LDAPUsername: "alice"},
		User{Login: "bob", PasswordHash: mustHash(t, "pw")},
	)
	require.NoError(t, err)
	ch, err := NewChain(ChainConfig{Order: OrderSSOLDAPLocal, Directory: dir, SSO: o, LDAP: &countingAuth{}})
	require.NoError(t, err)
	return &ssoHarness{chain: ch, idp: idp}
}

// run starts the flow, lets edit change the callback query, and finishes.
func (h *ssoHarness) run(t *testing.T, claims map[string]any, edit func(q url.Values, c *http.Cookie) *http.Cookie) int {
	t.Helper()
	rec := httptest.NewRecorder()
	h.chain.SSOStartHandler().ServeHTTP(rec, httptest.NewRequest("GET", "https://portal.example/sso/start?return_to=/portal/home", nil))
	require.Equal(t, http.StatusFound, rec.Code)
	var flow *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == DefaultSSOCookieName {
			flow = c
		}
	}
	require.NotNil(t, flow)
	require.True(t, flow.Secure && flow.HttpOnly)
	code, state := h.idp.login(t, rec.Header().Get("Location"), claims)
	q := url.Values{"code": {code}, "state": {state}}
	if edit != nil {
		flow = edit(q, flow)
	}
	req := httptest.NewRequest("GET", "https://portal.example/sso/callback?"+q.Encode(), nil)
	if flow != nil {
		req.AddCookie(&http.Cookie{Name: flow.Name, Value: flow.Value})
	}
	h.res, h.err, h.ret = nil, nil, ""
	cb := h.chain.SSOCallbackHandler(func(w http.ResponseWriter, r *http.Request, res Result, returnTo string) {
		h.res, h.ret = &res, returnTo
		w.WriteHeader(http.StatusNoContent)
	}, func(w http.ResponseWriter, r *http.Request, err error) {
		h.err = err
		w.WriteHeader(http.StatusForbidden)
	})
	rec = httptest.NewRecorder()
	cb.ServeHTTP(rec, req)
	return rec.Code
}

func TestOIDCLogin(t *testing.T) {
	h := newSSOHarness(t, nil)
	code := h.run(t, map[string]any{"email": "alice@example.com", "email_verified": true}, nil)
	require.Equal(t, http.StatusNoContent, code, "%v", h.err)
	require.Equal(t, "alice", h.res.User.Login)
	require.Equal(t, MethodSSO, h.res.Method)
	require.Equal(t, "/portal/home", h.ret)

	// The same user on the password form is told to use SSO.
	_, err := h.chain.Authenticate(context.Background(), "alice", "whatever")
	require.ErrorIs(t, err, ErrSSORequired)
}

func TestOIDCRejections(t *testing.T) {
	good := map[string]any{"email": "alice@example.com"}
	cases := []struct {
		name   string
		claims map[string]any
		tweak  func(map[string]any)
		edit   func(q url.Values, c *http.Cookie) *http.Cookie
		kind   error
	}{
		{name: "state mismatch", claims: good, edit: func(q url.Values, c *http.Cookie) *http.Cookie { q.Set("state", "forged"); return c }, kind: ErrDenied},
		{name: "no flow cookie", claims: good, edit: func(q url.Values, c *http.Cookie) *http.Cookie { return nil }, kind: ErrDenied},
		{name: "tampered cookie", claims: good, edit: func(q url.Values, c *http.Cookie) *http.Cookie {
			b := []byte(c.Value)
			b[len(b)/2] ^= 1
			c.Value = string(b)
			return c
		}, kind: ErrDenied},
		{name: "provider error", claims: good, edit: func(q url.Values, c *http.Cookie) *http.Cookie { q.Set("error", "access_denied"); return c }, kind: ErrDenied},
		{name: "provider unavailable", claims: good, edit: func(q url.Values, c *http.Cookie) *http.Cookie {
			q.Set("error", "temporarily_unavailable")
			return c
		}, kind: ErrUnavailable},
		{name: "wrong code", claims: good, edit: func(q url.Values, c *http.Cookie) *http.Cookie { q.Set("code", "stolen"); return c }, kind: ErrDenied},
		{name: "nonce mismatch", claims: good, tweak: func(c map[string]any) { c["nonce"] = "other" }, kind: ErrDenied},
		{name: "wrong audience", claims: good, tweak: func(c map[string]any) { c["aud"] = "someone-else" }, kind: ErrDenied},
		{name: "wrong issuer", claims: good, tweak: func(c map[string]any) { c["iss"] = "https://evil.example" }, kind: ErrDenied},
		{name: "expired", claims: good, tweak: func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }, kind: ErrDenied},
		{name: "email not verified", claims: map[string]any{"email": "alice@example.com", "email_verified": false}, kind: ErrDenied},
		{name: "no email claim", claims: map[string]any{}, kind: ErrDenied},
		{name: "unknown identity", claims: map[string]any{"email": "mallory@example.com"}, kind: ErrDenied},
		{name: "identity of a user without sso", claims: map[string]any{"email": "bob"}, kind: ErrDenied},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newSSOHarness(t, nil)
			h.idp.tweak = c.tweak
			code := h.run(t, c.claims, c.edit)
			require.Equal(t, http.StatusForbidden, code)
			require.Nil(t, h.res)
			require.ErrorIs(t, h.err, c.kind, "%v", h.err)
		})
	}
}

func TestOIDCReplay(t *testing.T) {
	h := newSSOHarness(t, nil)
	var saved url.Values
	var savedCookie http.Cookie
	code := h.run(t, map[string]any{"email": "alice@example.com"}, func(q url.Values, c *http.Cookie) *http.Cookie {
		saved, savedCookie = q, *c
		return c
	})
	require.Equal(t, http.StatusNoContent, code)
	// Replaying the same callback: the code is spent at the provider.
	req := httptest.NewRequest("GET", "https://portal.example/sso/callback?"+saved.Encode(), nil)
	req.AddCookie(&http.Cookie{Name: savedCookie.Name, Value: savedCookie.Value})
	_, _, err := h.chain.sso.Finish(httptest.NewRecorder(), req)
	require.ErrorIs(t, err, ErrDenied)
}

func TestOIDCClaims(t *testing.T) {
	for _, c := range []struct {
		claim  string
		claims map[string]any
	}{
		{"upn", map[string]any{"upn": "alice@example.com", "email": "x@y"}},
		{"sub", map[string]any{"sub": "alice@example.com"}},
	} {
		t.Run(c.claim, func(t *testing.T) {
			h := newSSOHarness(t, func(o *OIDCConfig) { o.Claim = c.claim })
			require.Equal(t, http.StatusNoContent, h.run(t, c.claims, nil), "%v", h.err)
			require.Equal(t, "alice", h.res.User.Login)
		})
	}
}

func TestOIDCConfigValidate(t *testing.T) {
	good := OIDCConfig{Issuer: "https://login.example.com/tenant/v2.0", ClientID: "c", RedirectURL: "https://portal/cb"}
	require.NoError(t, good.Validate())
	for name, c := range map[string]struct {
		mod  func(*OIDCConfig)
		want string
	}{
		"issuer":     {func(c *OIDCConfig) { c.Issuer = "" }, "issuer: is required"},
		"http":       {func(c *OIDCConfig) { c.Issuer = "http://login.example.com" }, "issuer: must use https"},
		"redirect":   {func(c *OIDCConfig) { c.RedirectURL = "/cb" }, "redirect_url: must be an absolute https URL"},
		"client":     {func(c *OIDCConfig) { c.ClientID = "" }, "client_id: is required"},
		"claim":      {func(c *OIDCConfig) { c.Claim = "name" }, "claim: must be email, upn or sub"},
		"scope":      {func(c *OIDCConfig) { c.Scopes = []string{"a b"} }, "scopes[0]"},
		"cookie key": {func(c *OIDCConfig) { c.CookieKey = NewSecret("short") }, "cookie_key: must be 32 bytes"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := good
			c.mod(&cfg)
			require.ErrorContains(t, cfg.Validate(), c.want)
		})
	}
	// Discovery must answer with the configured issuer.
	idp := newFakeIdP(t)
	cfg := idp.config()
	cfg.Issuer = idp.srv.URL + "/other"
	_, err := NewOIDC(context.Background(), cfg)
	require.ErrorIs(t, err, ErrUnavailable)
}
