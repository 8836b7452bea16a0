package authchain

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseOrder(t *testing.T) {
	for _, o := range SeedOrders {
		got, err := ParseOrder(string(o))
		require.NoError(t, err)
		require.Equal(t, o, got)
	}
	ok := map[string]Order{
		"SSO > AD/LDAP > Local":        OrderSSOLDAPLocal,
		" sso > cucm > local ":         OrderSSOUCMLocal,
		"local":                        "local",
		"ldap>local":                   "ldap>local",
		"ucm>sso>local":                "ucm>sso>local",
		"SSO > AD > Cisco UCM > Local": OrderSSOLDAPUCMLocal,
	}
	for in, want := range ok {
		got, err := ParseOrder(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got)
	}
	bad := map[string]string{
		"":               "must not be empty",
		"sso>ldap":       `must end with "local"`,
		"sso>sso>local":  `method "sso" appears more than once`,
		"sso>kerb>local": `unknown method "kerb"`,
		"sso>>local":     "method 2 is empty",
		"local>ldap":     `must end with "local"`,
		"local>local":    "more than once",
	}
	for in, want := range bad {
		_, err := ParseOrder(in)
		require.ErrorContains(t, err, want, in)
	}
}

func TestOrderJSON(t *testing.T) {
	var v struct {
		Order Order `json:"order"`
	}
	require.NoError(t, json.Unmarshal([]byte(`{"order":"sso>ucm>ldap>local"}`), &v))
	require.Equal(t, OrderSSOUCMLDAPLocal, v.Order)
	b, err := json.Marshal(v)
	require.NoError(t, err)
	require.JSONEq(t, `{"order":"sso>ucm>ldap>local"}`, string(b))
	require.Error(t, json.Unmarshal([]byte(`{"order":"ldap"}`), &v))
	require.Error(t, json.Unmarshal([]byte(`{"order":3}`), &v))
	require.Equal(t, []Method{MethodSSO, MethodUCM, MethodLDAP, MethodLocal}, v.Order.Methods())
}

func FuzzParseOrder(f *testing.F) {
	for _, o := range SeedOrders {
		f.Add(string(o))
	}
	f.Add("sso>>local")
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseOrder(s)
		if err != nil {
			return
		}
		require.NoError(t, o.Validate())
		again, err := ParseOrder(string(o))
		require.NoError(t, err)
		require.Equal(t, o, again)
		ms := o.Methods()
		require.Equal(t, MethodLocal, ms[len(ms)-1])
	})
}
