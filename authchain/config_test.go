package authchain

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestConfigValidate(t *testing.T) {
	require.NoError(t, Config{}.Validate(), "the zero Config is sso>local with default sessions")
	require.Equal(t, OrderSSOLocal, Config{}.EffectiveOrder())

	err := Config{
		Order:   OrderSSOLDAPUCMLocal,
		LDAP:    &LDAPConfig{URL: "ldap://dc1"},
		OIDC:    &OIDCConfig{Issuer: "https://idp"},
		Session: SessionConfig{InactivityTimeout: Duration(31 * Day), AbsoluteLifetime: Duration(60 * Day)},
	}.Validate()
	for _, want := range []string{
		`ucm: is required by the order "sso>ldap>ucm>local"`,
		"ldap.start_tls: must be true",
		"ldap.base_dn: is required",
		"oidc.client_id: is required",
		"oidc.redirect_url: is required",
		"session.inactivity_timeout: must be > 0 and <= 30d, got 31d",
	} {
		require.ErrorContains(t, err, want)
	}
	var fe *FieldError
	require.True(t, errors.As(err, &fe))

	err = Config{Order: "local>sso"}.Validate()
	require.ErrorContains(t, err, `order: must end with "local"`)
}

func TestConfigJSON(t *testing.T) {
	var c Config
	require.NoError(t, json.Unmarshal([]byte(`{
		"order": "sso>ldap>local",
		"ldap": {"url": "ldaps://dc1.corp.test", "base_dn": "dc=corp,dc=test", "bind_dn": "cn=svc,dc=corp,dc=test", "bind_password": "pw", "timeout": "5s", "pool_size": 8},
		"session": {"inactivity_timeout": "14d"}
	}`), &c))
	require.NoError(t, c.Validate())
	require.Equal(t, "pw", c.LDAP.BindPassword.Reveal())
	require.Equal(t, 14*Day, c.Session.InactivityTimeout.D())
	require.True(t, c.Session.RememberUser)
	b, err := json.Marshal(c)
	require.NoError(t, err)
	require.NotContains(t, string(b), `"pw"`)
	require.Contains(t, string(b), `"inactivity_timeout":"14d"`)
}
