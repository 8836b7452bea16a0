package sysparams

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/internal/fielderr"
)

func TestSetField(t *testing.T) {
	cases := []struct {
		path, value string
		check       func(t *testing.T, p *Params)
		err         string
	}{
		{"email.port", "587", func(t *testing.T, p *Params) { require.Equal(t, 587, p.Email.Port) }, ""},
		{"email.port", "x", nil, "email.port: must be a whole number"},
		{"email.enabled", "true", func(t *testing.T, p *Params) { require.True(t, p.Email.Enabled) }, ""},
		{"email.enabled", "yes", nil, "must be true or false"},
		{"telephony.system_name", "123", func(t *testing.T, p *Params) { require.Equal(t, "123", p.Telephony.SystemName) }, ""},
		{"email.password", "p@ss w:rd", func(t *testing.T, p *Params) { require.Equal(t, "p@ss w:rd", p.Email.Password.Reveal()) }, ""},
		{"email.password", "[REDACTED]", nil, "placeholder"},
		{"email.protocol", "o365", func(t *testing.T, p *Params) { require.Equal(t, ProtocolO365, p.Email.Protocol) }, ""},
		{"authentication.inactivity_timeout", "10d", func(t *testing.T, p *Params) {
			require.Equal(t, Duration(10*Day), p.Authentication.InactivityTimeout)
		}, ""},
		{"authentication.inactivity_timeout", "36h", func(t *testing.T, p *Params) {
			require.Equal(t, Duration(36*time.Hour), p.Authentication.InactivityTimeout)
		}, ""},
		{"authentication.order", "SSO > AD > Local", func(t *testing.T, p *Params) {
			require.EqualValues(t, "sso>ldap>local", p.Authentication.Order)
		}, ""},
		{"authentication.order", "ldap", nil, "must end with"},
		{"numbering_plan.internal_patterns", "2XXX, 3XXX", func(t *testing.T, p *Params) {
			require.Equal(t, []string{"2XXX", "3XXX"}, p.NumberingPlan.InternalPatterns)
		}, ""},
		{"numbering_plan.internal_patterns", `["9,1"]`, func(t *testing.T, p *Params) {
			require.Equal(t, []string{"9,1"}, p.NumberingPlan.InternalPatterns)
		}, ""},
		{"certificate.extra_names", "", func(t *testing.T, p *Params) { require.Nil(t, p.Certificate.ExtraNames) }, ""},
		{"proxy.http.address", "10.0.0.2", func(t *testing.T, p *Params) { require.Equal(t, "10.0.0.2", p.Proxy.HTTP.Address) }, ""},
		{"proxy.socks.version", "4", func(t *testing.T, p *Params) { require.Equal(t, 4, p.Proxy.SOCKS.Version) }, ""},
		{"email.o365.cloud", "usgov", func(t *testing.T, p *Params) { require.EqualValues(t, "usgov", p.Email.O365.Cloud) }, ""},
		{"email", "x", nil, "is a section"},
		{"email.nope", "x", nil, `no such field "nope"`},
		{"email.port.x", "1", nil, "no such field"},
		{"", "1", nil, "empty field path"},
	}
	for _, tc := range cases {
		t.Run(tc.path+"="+tc.value, func(t *testing.T) {
			p := Defaults()
			err := SetField(p, tc.path, tc.value)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			tc.check(t, p)
		})
	}
}

func TestFieldPathsAreSettable(t *testing.T) {
	paths := FieldPaths()
	require.Contains(t, paths, "email.o365.client_secret")
	require.Contains(t, paths, "authentication.inactivity_timeout")
	require.Contains(t, paths, "proxy.http.password")
	for _, path := range paths {
		p := Defaults()
		_, err := fieldByPath(reflectValue(p), path)
		require.NoError(t, err, path)
	}
	for _, path := range SecretPaths(Defaults()) {
		require.Contains(t, paths, path)
	}
}

func FuzzSetField(f *testing.F) {
	f.Add("email.port", "587")
	f.Add("authentication.inactivity_timeout", "8d")
	f.Add("numbering_plan.internal_patterns", `["2XXX"]`)
	f.Add("proxy.http.address", "::1")
	f.Add("a..b", "")
	f.Fuzz(func(t *testing.T, path, value string) {
		p := Defaults()
		if err := SetField(p, path, value); err != nil {
			return
		}
		_ = p.Validate()
		if _, err := p.Clone(); err != nil && value != "" {
			t.Fatalf("clone after setting %s=%q: %v", path, value, err)
		}
	})
}

// TestSetFieldEveryProblemNamesThePath: a value the field's type refuses for
// several reasons gives one problem per reason, each a *FieldError naming
// the path (the second reason used to come on a line of its own, without
// the path), and a bad duration says what a duration looks like rather
// than what the JSON decoder thought of a bare word.
func TestSetFieldEveryProblemNamesThePath(t *testing.T) {
	err := SetField(Defaults(), "authentication.order", "sso>foo>sso")
	require.Error(t, err)
	leaves := fielderr.Flatten(err)
	require.Len(t, leaves, 3)
	for _, leaf := range leaves {
		var fe *FieldError
		require.ErrorAs(t, leaf, &fe)
		require.Equal(t, "authentication.order", fe.Field)
		require.NotContains(t, fe.Problem, "\n")
		require.NotContains(t, fe.Problem, "order:")
		require.True(t, strings.HasPrefix(leaf.Error(), "sysparams: authentication.order: "), leaf.Error())
	}

	err = SetField(Defaults(), "authentication.inactivity_timeout", "1.5d")
	require.ErrorContains(t, err, "authentication.inactivity_timeout: invalid duration")
	require.NotContains(t, err.Error(), "invalid character")
}
