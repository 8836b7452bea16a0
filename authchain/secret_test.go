package authchain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSecretsNeverPrint formats every configuration type that holds a
// secret with %v, %+v, %#v, %s, JSON and slog and checks the secret never
// appears.
func TestSecretsNeverPrint(t *testing.T) {
	const bindPW, axlPW, clientSecret, cookieKey = "bind-pw-123", "axl-pw-456", "client-secret-789", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	ldapCfg := LDAPConfig{URL: "ldaps://dc1", BaseDN: "dc=x", BindDN: "cn=svc,dc=x", BindPassword: NewSecret(bindPW)}
	ucmCfg := UCMConfig{URL: "cucm", AXLUser: "axl", AXLPassword: NewSecret(axlPW)}
	oidcCfg := OIDCConfig{Issuer: "https://idp", ClientID: "c", ClientSecret: NewSecret(clientSecret), RedirectURL: "https://p/cb", CookieKey: NewSecret(cookieKey)}
	cfg := Config{Order: OrderSSOLDAPUCMLocal, LDAP: &ldapCfg, UCM: &ucmCfg, OIDC: &oidcCfg, Session: DefaultSessionConfig()}
	type host struct {
		Auth *Config
		LDAP *LDAPConfig
	}
	values := []any{ldapCfg, &ldapCfg, ucmCfg, &ucmCfg, oidcCfg, &oidcCfg, cfg, &cfg, host{&cfg, &ldapCfg}, &host{&cfg, &ldapCfg}}

	var out []string
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
			out = append(out, fmt.Sprintf(verb, v))
		}
		b, err := json.Marshal(v)
		require.NoError(t, err)
		out = append(out, string(b))
	}
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		l := slog.New(h)
		l.Info("config", "ldap", ldapCfg, "ucm", ucmCfg, "oidc", oidcCfg, "all", cfg)
	}
	out = append(out, buf.String())

	// Errors of the authenticators never carry the passwords either.
	a, err := NewLDAPAuthenticator(LDAPConfig{URL: "ldaps://127.0.0.1:1", BaseDN: "dc=x", BindDN: "cn=svc,dc=x", BindPassword: NewSecret(bindPW)})
	require.NoError(t, err)
	out = append(out, a.Authenticate(t.Context(), User{LDAPUsername: "u"}, "user-password-000").Error())

	for _, o := range out {
		for _, s := range []string{bindPW, axlPW, clientSecret, cookieKey, "user-password-000"} {
			require.NotContains(t, o, s)
		}
	}
}

// TestAuthenticatorsNeverPrintSecrets prints the authenticators, the OIDC
// provider and a chain holding them on the paths where fmt ignores
// methods: directly (their fields are unexported), inside an unexported
// field of the caller's struct, and behind a method-less pointer printed
// with a bad verb. A Secret kept in their configuration copies was printed
// by fmt.Printf("%v", authenticator).
func TestAuthenticatorsNeverPrintSecrets(t *testing.T) {
	const bindPW, axlPW, cookieKey = "bind-pw-123", "axl-pw-456", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	la, err := NewLDAPAuthenticator(LDAPConfig{URL: "ldaps://dc1.corp.test", BaseDN: "dc=x", BindDN: "cn=svc,dc=x", BindPassword: NewSecret(bindPW)})
	require.NoError(t, err)
	defer la.Close()
	ua, err := NewUCMAuthenticator(UCMConfig{URL: "https://cucm.corp.test", AXLUser: "axl", AXLPassword: NewSecret(axlPW)})
	require.NoError(t, err)
	idp := newFakeIdP(t)
	oc := idp.config()
	oc.CookieKey = NewSecret(cookieKey)
	clientSecret := oc.ClientSecret.Reveal()
	o, err := NewOIDC(t.Context(), oc)
	require.NoError(t, err)
	dir, err := NewMemoryDirectory()
	require.NoError(t, err)
	ch, err := NewChain(ChainConfig{Order: OrderSSOLDAPUCMLocal, Directory: dir, LDAP: la, UCM: ua, SSO: o})
	require.NoError(t, err)

	type hidden struct {
		la *LDAPAuthenticator
		ua *UCMAuthenticator
		o  *OIDC
		ch *Chain
	}
	type wrapper struct{ H hidden }
	type outer struct{ W *wrapper }
	h := hidden{la, ua, o, ch}
	values := map[string]any{"ldap": la, "ucm": ua, "oidc": o, "chain": ch, "hidden": h, "&hidden": &h,
		"outer": outer{&wrapper{h}}, "slice": []hidden{h}, "map": map[string]*wrapper{"a": {h}}}
	var out []string
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X", "%q", "%t"} {
			out = append(out, name+" "+verb+": "+fmt.Sprintf(verb, v))
		}
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "ldap", la, "ucm", ua, "oidc", o, "chain", ch)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "hidden", h)
	out = append(out, buf.String())
	var forbidden []string
	for _, s := range []string{bindPW, axlPW, clientSecret, cookieKey[:32]} {
		forbidden = append(forbidden, s, fmt.Sprintf("%x", s), fmt.Sprintf("%X", s))
	}
	key, err := parseCookieKey(cookieKey)
	require.NoError(t, err)
	forbidden = append(forbidden, strings.Trim(fmt.Sprint(key[:8]), "[]"), fmt.Sprintf("%x", key[:8]))
	for _, o := range out {
		for _, f := range forbidden {
			if strings.Contains(o, f) {
				t.Errorf("secret %q printed: %.200s", f, o)
			}
		}
	}
}

// TestUserHashNotPrinted: a User (also inside a Result) prints and logs
// without its password hash, while its JSON keeps it for configuration
// files.
func TestUserHashNotPrinted(t *testing.T) {
	const hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
	u := User{Login: "alice", LDAPUsername: "alice", PasswordHash: hash, Roles: []string{"admin"}}
	res := Result{User: u, Method: MethodLocal}
	var out []string
	for _, v := range []any{u, &u, res, &res, []User{u}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			out = append(out, fmt.Sprintf(verb, v))
		}
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("login", "user", u, "result", res)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("login", "user", u)
	out = append(out, buf.String())
	for _, o := range out {
		require.NotContains(t, o, "c2FsdHNhbHRzYWx0")
		require.NotContains(t, o, fmt.Sprintf("%x", hash)[:40])
	}
	require.Contains(t, fmt.Sprintf("%+v", u), "PasswordHash:[REDACTED]")
	require.Contains(t, buf.String(), `"login":"alice"`)
	b, err := json.Marshal(u)
	require.NoError(t, err)
	require.Contains(t, string(b), hash, "JSON is the storage format and keeps the hash")
}
