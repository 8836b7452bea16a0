package sysparams

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/ucxkit/ucxkit/internal/fielderr"
	"github.com/ucxkit/ucxkit/proxycfg"
)

func problems(err error) []string {
	var out []string
	for _, e := range fielderr.Flatten(err) {
		out = append(out, e.Error())
	}
	return out
}

func TestValidParamsValidate(t *testing.T) {
	require.NoError(t, validParams().Validate())
}

func TestDefaultsNeedTelephony(t *testing.T) {
	err := Defaults().Validate()
	require.ElementsMatch(t, []string{
		"telephony.system_name: is mandatory",
		"telephony.pbx_address: is mandatory",
	}, problems(err))
}

// TestValidateSeedRules covers each rule of the seed and of the issue, one
// case per rule, checking the exact path and that nothing else is reported.
func TestValidateSeedRules(t *testing.T) {
	cases := []struct {
		name string
		mod  func(p *Params)
		want []string // exact problems; prefix match on the message
	}{
		{"system name mandatory", func(p *Params) { p.Telephony.SystemName = "  " }, []string{"telephony.system_name: is mandatory"}},
		{"system name control char", func(p *Params) { p.Telephony.SystemName = "a\nb" }, []string{"telephony.system_name: must not contain control characters"}},
		{"system name arbitrary label", func(p *Params) { p.Telephony.SystemName = "Zentrale Süd / HA #2" }, nil},
		{"pbx address mandatory", func(p *Params) { p.Telephony.PBXAddress = "" }, []string{"telephony.pbx_address: is mandatory"}},
		{"pbx address host name", func(p *Params) { p.Telephony.PBXAddress = "cucm-pub.example.com" }, nil},
		{"pbx address ipv6", func(p *Params) { p.Telephony.PBXAddress = "2001:db8::10" }, nil},
		{"pbx address with port", func(p *Params) { p.Telephony.PBXAddress = "10.0.0.1:5060" }, []string{"telephony.pbx_address: must not include a port"}},
		{"pbx address url", func(p *Params) { p.Telephony.PBXAddress = "http://pbx" }, []string{"telephony.pbx_address: must be an IP address or host name, not a URL"}},
		{"pbx address bad label", func(p *Params) { p.Telephony.PBXAddress = "pbx..lan" }, []string{"telephony.pbx_address: must be an IP address or host name"}},
		{"email port range", func(p *Params) { p.Email.Port = 70000 }, []string{"email.port: must be 1-65535, got 70000"}},
		{"email port mandatory when enabled", func(p *Params) { p.Email.Port = 0 }, []string{"email.port: must be 1-65535, got 0"}},
		{"email port unchecked when disabled and unset", func(p *Params) { p.Email.Enabled = false; p.Email.Port = 0 }, nil},
		{"email port range checked even when disabled", func(p *Params) { p.Email.Enabled = false; p.Email.Port = -1 }, []string{"email.port: must be 1-65535, got -1"}},
		{"email server mandatory", func(p *Params) { p.Email.Server = "" }, []string{"email.server: is mandatory when email is enabled with smtp"}},
		{"email from mandatory", func(p *Params) { p.Email.From = "" }, []string{"email.from: is mandatory when email is enabled with smtp"}},
		{"email from invalid", func(p *Params) { p.Email.From = "not an address" }, []string{"email.from: must be an email address"}},
		{"email from with name", func(p *Params) { p.Email.From = "Fax Server <fax@example.com>" }, nil},
		{"email protocol", func(p *Params) { p.Email.Protocol = "pop3" }, []string{"email.protocol: must be smtp or o365"}},
		{"email security", func(p *Params) { p.Email.Security = "ssl3" }, []string{"email.security: must be auto, starttls, tls or none"}},
		{"email auth needs username and password", func(p *Params) { p.Email.Username = ""; p.Email.Password = NewSecret("") }, []string{"email.username: is mandatory with use_auth", "email.password: is mandatory with use_auth"}},
		{"email auth not in clear", func(p *Params) { p.Email.Security = SecurityNone }, []string{"email.security: none sends the password in clear"}},
		{"email password CRLF", func(p *Params) { p.Email.Password = NewSecret("a\r\nb") }, []string{"email.password: must not contain CR, LF or NUL"}},
		{"email proxy value", func(p *Params) { p.Email.Proxy = "socks5" }, []string{"email.proxy: must be none, http or socks"}},
		{"email proxy http not configured", func(p *Params) { p.Email.Proxy = ProxyHTTP }, []string{"email.proxy: http selected but proxy.http is not configured"}},
		{"email proxy socks not configured", func(p *Params) { p.Email.Proxy = ProxySOCKS }, []string{"email.proxy: socks selected but proxy.socks is not configured"}},
		{"o365 mandatory fields", func(p *Params) {
			p.Email.Protocol = ProtocolO365
			p.Email.O365.ClientSecret = NewSecret("")
		}, []string{
			"email.o365.client_id: is mandatory with protocol o365",
			"email.o365.tenant_id: is mandatory with protocol o365",
			"email.o365.client_secret: is mandatory with protocol o365",
			"email.o365.address: is mandatory with protocol o365",
		}},
		{"o365 complete", func(p *Params) {
			p.Email.Protocol = ProtocolO365
			p.Email.Server, p.Email.From = "", ""
			p.Email.O365.ClientID = "1cb8b5d2-8724-4f32-8152-a16a230b682b"
			p.Email.O365.TenantID = "969d5b92-bc05-403f-b576-97201b665e65"
			p.Email.O365.Address = "fax@example.onmicrosoft.com"
		}, nil},
		{"o365 reserved tenant (reused from o365)", func(p *Params) {
			p.Email.Protocol = ProtocolO365
			p.Email.O365.ClientID = "1cb8b5d2-8724-4f32-8152-a16a230b682b"
			p.Email.O365.TenantID = "common"
			p.Email.O365.Address = "fax@example.onmicrosoft.com"
		}, []string{"email.o365.tenant_id: must be the directory ID or a verified domain"}},
		{"smtp from display name ok", func(p *Params) { p.Email.From = "Zoë Müller <fax@example.com>" }, nil},
		{"numbering plan pattern (reused from numplan)", func(p *Params) {
			p.NumberingPlan.UseDefaults = false
			p.NumberingPlan.InternalPatterns = []string{"2XXX", "+44!"}
		}, []string{"numbering_plan.internal_patterns[1]:"}},
		{"numbering plan ignored with use_defaults", func(p *Params) {
			p.NumberingPlan.UseDefaults = true
			p.NumberingPlan.InternalPatterns = []string{"+44!"}
		}, nil},
		{"numbering plan country code", func(p *Params) {
			p.NumberingPlan.UseDefaults = false
			p.NumberingPlan.LocalCountryCode = "+39 +44"
		}, []string{"numbering_plan.local_country_code:"}},
		{"proxy port mandatory (reused from proxycfg)", func(p *Params) { p.Proxy.HTTP.Address = "10.0.0.2" }, []string{"proxy.http.port: is mandatory when address is set"}},
		{"proxy password mandatory with username", func(p *Params) {
			p.Proxy.SOCKS = proxycfg.SOCKSProxy{Version: 5, Address: "10.0.0.4", Port: 1080, Username: "s"}
		}, []string{"proxy.socks.password: is mandatory when username is set"}},
		{"proxy socks4 refuses password", func(p *Params) {
			p.Proxy.SOCKS = proxycfg.SOCKSProxy{Version: 4, Address: "10.0.0.4", Port: 1080, Username: "s", Password: proxycfg.NewSecret("x")}
		}, []string{"proxy.socks.password: SOCKS4 cannot carry a password"}},
		{"proxy @ allowed in credentials", func(p *Params) { setTestHTTPProxy(p); p.Proxy.HTTP.Username = "us@er" }, nil},
		{"email proxy http configured", func(p *Params) { setTestHTTPProxy(p); p.Email.Proxy = ProxyHTTP }, nil},
		{"o365 mode", func(p *Params) { p.Email.O365.Mode = "imap" }, []string{"email.o365.mode: must be graph, smtp or ews"}},
		{"o365 cloud", func(p *Params) { p.Email.O365.Cloud = "mars" }, []string{"email.o365.cloud: must be global, usgov, usgov-dod or china"}},
		{"o365 auth url https", func(p *Params) { p.Email.O365.AuthURL = "http://login.example.com" }, []string{"email.o365.auth_url: must start with https://"}},
		{"o365 server url query", func(p *Params) { p.Email.O365.ServerURL = "https://outlook.example.com/?x=1" }, []string{"email.o365.server_url: must not contain a query"}},
		{"o365 tenant chars", func(p *Params) { p.Email.O365.TenantID = "a b" }, []string{"email.o365.tenant_id: must be a GUID or name"}},
		{"order unknown method", func(p *Params) { p.Authentication.Order = "sso>kerberos>local" }, []string{"authentication.order: unknown method \"kerberos\""}},
		{"order must end with local", func(p *Params) { p.Authentication.Order = "sso>ldap" }, []string{"authentication.order: must end with \"local\""}},
		{"order custom", func(p *Params) { p.Authentication.Order = "ldap>local" }, nil},
		{"inactivity zero", func(p *Params) { p.Authentication.InactivityTimeout = 0 }, []string{"authentication.inactivity_timeout: must be > 0 and <= 30d, got 0s"}},
		{"inactivity negative", func(p *Params) { p.Authentication.InactivityTimeout = Duration(-time.Hour) }, []string{"authentication.inactivity_timeout: must be > 0 and <= 30d"}},
		{"inactivity 30d ok", func(p *Params) { p.Authentication.InactivityTimeout = Duration(30 * Day) }, nil},
		{"inactivity over 30d", func(p *Params) { p.Authentication.InactivityTimeout = Duration(30*Day + time.Second) }, []string{"authentication.inactivity_timeout: must be > 0 and <= 30d"}},
		{"certificate key type", func(p *Params) { p.Certificate.KeyType = "ed25519" }, []string{"certificate.key_type: must be one of rsa2048"}},
		{"certificate validity", func(p *Params) { p.Certificate.ValidityYears = 0 }, []string{"certificate.validity_years: must be 1-30, got 0"}},
		{"certificate wildcard", func(p *Params) { p.Certificate.ExtraNames = []string{"ok.example.com", "*.example.com"} }, []string{"certificate.extra_names[1]: wildcards are not allowed"}},
		{"certificate extra ip", func(p *Params) { p.Certificate.ExtraNames = []string{"10.0.0.5", "2001:db8::5"} }, nil},
		{"cloud id without secret", func(p *Params) { p.Cloud.ClientSecret = NewSecret("") }, []string{"cloud.client_secret: is mandatory with client_id"}},
		{"cloud secret without id", func(p *Params) { p.Cloud.ClientID = "" }, []string{"cloud.client_id: is mandatory with client_secret"}},
		{"cloud both empty", func(p *Params) { p.Cloud = Cloud{} }, nil},
		{"web server http", func(p *Params) { p.WebServer.BaseURL = "http://ucx.example.com" }, []string{"web_server.base_url: must start with https://"}},
		{"web server query", func(p *Params) { p.WebServer.BaseURL = "https://ucx.example.com/?a=b" }, []string{"web_server.base_url: must not contain a query"}},
		{"web server fragment", func(p *Params) { p.WebServer.BaseURL = "https://ucx.example.com/#top" }, []string{"web_server.base_url: must not contain a fragment"}},
		{"web server no host", func(p *Params) { p.WebServer.BaseURL = "https:///path" }, []string{"web_server.base_url: must have a host"}},
		{"web server userinfo", func(p *Params) { p.WebServer.BaseURL = "https://u:p@ucx.example.com" }, []string{"web_server.base_url: must not contain user info"}},
		{"web server path ok", func(p *Params) { p.WebServer.BaseURL = "https://test.example.com:8443/ucx" }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := validParams()
			tc.mod(p)
			got := problems(p.Validate())
			require.Len(t, got, len(tc.want), "got %q", got)
			for i, w := range tc.want {
				require.True(t, strings.HasPrefix(got[i], w), "problem %d: got %q, want prefix %q", i, got[i], w)
			}
		})
	}
}

func TestValidateReportsEverythingAtOnce(t *testing.T) {
	p := validParams()
	p.Telephony.SystemName = ""
	p.Email.Port = 70000
	p.Authentication.InactivityTimeout = Duration(31 * Day)
	p.WebServer.BaseURL = "http://x"
	err := p.Validate()
	got := problems(err)
	require.Len(t, got, 4, "%q", got)
	var fe *FieldError
	require.True(t, errors.As(err, &fe))
	require.Equal(t, "telephony.system_name", fe.Field)
	require.Contains(t, err.Error(), "email.port: must be 1-65535, got 70000")
}

func TestParamsJSONDefaultsAndStrictness(t *testing.T) {
	var p Params
	require.NoError(t, json.Unmarshal([]byte(`{"telephony":{"system_name":"a","pbx_address":"b"},"authentication":{"inactivity_timeout":"10d"}}`), &p))
	require.True(t, p.Authentication.RememberUser, "remember_user defaults to true")
	require.Equal(t, Duration(10*Day), p.Authentication.InactivityTimeout)
	require.Equal(t, 25, p.Email.Port)
	require.NoError(t, json.Unmarshal([]byte(`{"authentication":{"inactivity_timeout":"36h"}}`), &p))
	require.Equal(t, Duration(36*time.Hour), p.Authentication.InactivityTimeout)

	err := json.Unmarshal([]byte(`{"emial":{}}`), &p)
	require.ErrorContains(t, err, "emial")
	err = json.Unmarshal([]byte(`{"authentication":{"inactivity_timeout":8}}`), &p)
	require.Error(t, err, "a bare number is refused")

	b, err := json.Marshal(Defaults())
	require.NoError(t, err)
	require.Contains(t, string(b), `"inactivity_timeout":"8d"`)
	require.Contains(t, string(b), `"remember_user":true`)
}

func TestForget(t *testing.T) {
	p := validParams()
	p.WebServer.BaseURL = "https://test.example.com"
	require.NoError(t, p.Forget(SectionCloud))
	require.Equal(t, Cloud{}, p.Cloud)
	require.NoError(t, p.Forget(SectionWebServer))
	require.Equal(t, "https://srv01", p.WebServer.EffectiveBaseURL("SRV01"))
	require.Error(t, p.Forget("email"))
}

func TestO365ApplyEnvIsExplicit(t *testing.T) {
	env := map[string]string{EnvO365AuthURL: "https://login.example.us", EnvO365ServerURL: "https://outlook.example.us"}
	var o O365
	require.True(t, o.ApplyEnv(func(k string) string { return env[k] }))
	require.Equal(t, "https://login.example.us", o.AuthURL)
	require.Equal(t, "https://outlook.example.us", o.ServerURL)
	require.False(t, o.ApplyEnv(func(k string) string { return env[k] }))
	var none O365
	require.False(t, none.ApplyEnv(func(string) string { return "" }))
	require.Empty(t, none.AuthURL)
}

// TestSecretsNeverPrint formats every config type of the package with the
// fmt verbs, JSON and slog, and proves no secret value appears.
func TestSecretsNeverPrint(t *testing.T) {
	p := validParams()
	p.Email.O365.ClientSecret = NewSecret(testO365Secret)
	setTestHTTPProxy(p)
	p.Proxy.SOCKS = proxycfg.SOCKSProxy{Address: "10.0.0.4", Port: 1080, Username: "s", Password: proxycfg.NewSecret(testProxyPassword)}
	k, err := GenerateKeyring()
	require.NoError(t, err)
	d, err := NewDocument(p, k, 1, time.Now())
	require.NoError(t, err)
	c := Diff(Defaults(), p)
	values := []any{p, *p, p.Email, p.Email.O365, p.Cloud, p.Proxy, p.Proxy.HTTP, p.Proxy.SOCKS, c, k, d, &ValidationError{Err: p.Validate()}}
	var out []string
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			out = append(out, fmt.Sprintf(verb, v))
		}
		b, err := json.Marshal(v)
		if err == nil {
			out = append(out, string(b))
		}
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("params", "p", p, "email", p.Email, "cloud", p.Cloud, "change", c, "keys", k)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("params", "p", p, "keys", k)
	out = append(out, buf.String())
	raw, err := d.Marshal()
	require.NoError(t, err)
	out = append(out, string(raw))
	for _, o := range out {
		for _, s := range []string{testSMTPPassword, testO365Secret, testCloudSecret, testProxyPassword, url.UserPassword("u", testProxyPassword).String()} {
			require.NotContains(t, o, s)
			require.NotContains(t, o, fmt.Sprintf("%x", s))
		}
	}
}

func TestCloneSharesNothing(t *testing.T) {
	p := validParams()
	setTestHTTPProxy(p)
	p.NumberingPlan.UseDefaults = false
	p.NumberingPlan.InternalPatterns = []string{"2XXX"}
	p.Proxy.Bypass = []string{"10.0.0.0/8"}
	p.Certificate.ExtraNames = []string{"a.example.com"}
	c, err := p.Clone()
	require.NoError(t, err)
	require.Equal(t, p, c)
	require.True(t, Diff(p, c).Empty())
	c.NumberingPlan.InternalPatterns[0] = "3XXX"
	c.Proxy.Bypass[0] = "x"
	c.Certificate.ExtraNames[0] = "b.example.com"
	c.Proxy.HTTP.Password = proxycfg.NewSecret("other")
	require.Equal(t, "2XXX", p.NumberingPlan.InternalPatterns[0])
	require.Equal(t, "10.0.0.0/8", p.Proxy.Bypass[0])
	require.Equal(t, "a.example.com", p.Certificate.ExtraNames[0])
	require.Equal(t, testProxyPassword, p.Proxy.HTTP.Password.Reveal())
}
