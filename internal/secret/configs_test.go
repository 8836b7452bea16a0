package secret_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/authchain"
	"github.com/ucxkit/ucxkit/internal/secret"
	"github.com/ucxkit/ucxkit/mailqueue/o365"
	"github.com/ucxkit/ucxkit/mailqueue/smtpsend"
	"github.com/ucxkit/ucxkit/proxycfg"
)

// TestConfigJSONRoundTrip decodes each public config type that holds a
// secret from its plain JSON form, then checks that the value compares by
// value, that marshalling redacts it (and leaves an omitzero secret out
// when unset), and that the marshalled form does not decode back (the
// placeholder never replaces a real secret).
func TestConfigJSONRoundTrip(t *testing.T) {
	const value = "s3cret-value:with/odd chars é"
	cases := []struct {
		name     string
		new      func() any // pointer to a zero config
		plain    string     // JSON with the secret in plain text at key
		key      string
		get      func(any) secret.Secret
		omitzero bool
	}{
		{"proxycfg.HTTPProxy", func() any { return new(proxycfg.Config) },
			`{"http":{"address":"10.0.0.2","port":3128,"username":"u","password":%s}}`, "password",
			func(c any) secret.Secret { return c.(*proxycfg.Config).HTTP.Password }, true},
		{"proxycfg.SOCKSProxy", func() any { return new(proxycfg.Config) },
			`{"socks":{"address":"10.0.0.4","port":1080,"username":"u","password":%s}}`, "password",
			func(c any) secret.Secret { return c.(*proxycfg.Config).SOCKS.Password }, true},
		{"smtpsend.Config", func() any { return new(smtpsend.Config) },
			`{"host":"mail.example.com","username":"u","password":%s}`, "password",
			func(c any) secret.Secret { return c.(*smtpsend.Config).Password }, true},
		{"o365.Config", func() any { return new(o365.Config) },
			`{"tenant_id":"t","client_id":"c","client_secret":%s,"address":"fax@example.com"}`, "client_secret",
			func(c any) secret.Secret { return c.(*o365.Config).ClientSecret }, false},
		{"authchain.LDAPConfig", func() any { return new(authchain.LDAPConfig) },
			`{"url":"ldaps://dc1","base_dn":"dc=x","bind_dn":"cn=svc","bind_password":%s}`, "bind_password",
			func(c any) secret.Secret { return c.(*authchain.LDAPConfig).BindPassword }, true},
		{"authchain.OIDCConfig.client_secret", func() any { return new(authchain.OIDCConfig) },
			`{"issuer":"https://idp","client_id":"c","client_secret":%s,"redirect_url":"https://p/cb"}`, "client_secret",
			func(c any) secret.Secret { return c.(*authchain.OIDCConfig).ClientSecret }, true},
		{"authchain.OIDCConfig.cookie_key", func() any { return new(authchain.OIDCConfig) },
			`{"issuer":"https://idp","client_id":"c","cookie_key":%s,"redirect_url":"https://p/cb"}`, "cookie_key",
			func(c any) secret.Secret { return c.(*authchain.OIDCConfig).CookieKey }, true},
		{"authchain.UCMConfig", func() any { return new(authchain.UCMConfig) },
			`{"url":"https://cucm","axl_user":"axl","axl_password":%s}`, "axl_password",
			func(c any) secret.Secret { return c.(*authchain.UCMConfig).AXLPassword }, false},
	}
	quote := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.new()
			require.NoError(t, json.Unmarshal([]byte(strings.Replace(tc.plain, "%s", quote(value), 1)), c))
			s := tc.get(c)
			require.Equal(t, value, s.Reveal())
			require.True(t, s == secret.New(strings.Clone(value)), "compares by value")

			out, err := json.Marshal(c)
			require.NoError(t, err)
			require.NotContains(t, string(out), value)
			require.Contains(t, string(out), quote(tc.key)+":"+quote(secret.Redacted))

			again := tc.new()
			err = json.Unmarshal(out, again)
			require.Error(t, err, "the redacted form must not decode into a secret")
			require.Contains(t, err.Error(), "placeholder")

			// A second decode of the plain form gives an equal config.
			c2 := tc.new()
			require.NoError(t, json.Unmarshal([]byte(strings.Replace(tc.plain, "%s", quote(value), 1)), c2))
			require.True(t, reflect.DeepEqual(c, c2))

			// Unset: zero Secret, left out under omitzero, "" otherwise,
			// and "" decodes to the zero Secret.
			empty := tc.new()
			require.NoError(t, json.Unmarshal([]byte(strings.Replace(tc.plain, "%s", `""`, 1)), empty))
			require.True(t, tc.get(empty) == secret.Secret{})
			out, err = json.Marshal(empty)
			require.NoError(t, err)
			if tc.omitzero {
				require.NotContains(t, string(out), quote(tc.key))
			} else {
				require.Contains(t, string(out), quote(tc.key)+":\"\"")
			}
		})
	}
}
