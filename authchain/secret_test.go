package authchain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSecretsNeverPrint formats every configuration type that holds a
// secret with %v, %+v, %#v, %s, JSON and slog and checks the secret never
// appears.
func TestSecretsNeverPrint(t *testing.T) {
	const bindPW, axlPW, clientSecret, cookieKey = "bind-pw-123", "axl-pw-456", "client-secret-789", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	ldapCfg := LDAPConfig{URL: "ldaps://dc1", BaseDN: "dc=x", BindDN: "cn=svc,dc=x", BindPassword: bindPW}
	ucmCfg := UCMConfig{URL: "cucm", AXLUser: "axl", AXLPassword: axlPW}
	oidcCfg := OIDCConfig{Issuer: "https://idp", ClientID: "c", ClientSecret: clientSecret, RedirectURL: "https://p/cb", CookieKey: cookieKey}
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
	a, err := NewLDAPAuthenticator(LDAPConfig{URL: "ldaps://127.0.0.1:1", BaseDN: "dc=x", BindDN: "cn=svc,dc=x", BindPassword: bindPW})
	require.NoError(t, err)
	out = append(out, a.Authenticate(t.Context(), User{LDAPUsername: "u"}, "user-password-000").Error())

	for _, o := range out {
		for _, s := range []string{bindPW, axlPW, clientSecret, cookieKey, "user-password-000"} {
			require.NotContains(t, o, s)
		}
	}
}
