package o365

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func validConfig() Config {
	return Config{TenantID: testTenant, ClientID: testClient, ClientSecret: NewSecret(testSecret), Sender: testSender}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Config)
		want   []string // "field: problem prefix"
	}{
		{"valid", func(*Config) {}, nil},
		{"valid domain tenant and all overrides", func(c *Config) {
			c.TenantID, c.Mode, c.Cloud = "contoso.onmicrosoft.com", ModeSMTP, CloudChina
			c.AuthURL, c.ServerURL, c.GraphURL, c.SMTPAddr = "https://login.test", "https://exo.test", "http://graph.test:8080", "smtp.test:2525"
		}, nil},
		{"empty", func(c *Config) { *c = Config{} }, []string{"tenant_id: required", "client_id: required", "client_secret: required", "address: required"}},
		{"common tenant", func(c *Config) { c.TenantID = "common" }, []string{"tenant_id: must be the directory ID"}},
		{"tenant with slash", func(c *Config) { c.TenantID = "a/b" }, []string{"tenant_id: must be a GUID or a domain"}},
		{"client with space", func(c *Config) { c.ClientID = "a b" }, []string{"client_id: must not contain"}},
		{"display-name sender", func(c *Config) { c.Sender = "Fax <fax@contoso.example>" }, []string{"address: must be a plain mailbox"}},
		{"not an address", func(c *Config) { c.Sender = "fax" }, []string{"address: must be a plain mailbox"}},
		{"mode", func(c *Config) { c.Mode = "pop3" }, []string{`mode: must be graph, smtp or ews, got "pop3"`}},
		{"cloud", func(c *Config) { c.Cloud = "mars" }, []string{`cloud: must be global, usgov, usgov-dod or china, got "mars"`}},
		{"urls", func(c *Config) {
			c.AuthURL, c.ServerURL, c.GraphURL = "login.microsoftonline.com", "ftp://x", "https://u:p@graph.test"
		}, []string{"auth_url: must be an absolute", "server_url: must be an absolute", "graph_url: must not carry credentials"}},
		{"query", func(c *Config) { c.GraphURL = "https://graph.test/?a=1" }, []string{"graph_url: must not have a query"}},
		{"smtp addr", func(c *Config) { c.SMTPAddr = "smtp.test" }, []string{"smtp_addr: must be host:port"}},
		{"smtp port", func(c *Config) { c.SMTPAddr = "smtp.test:70000" }, []string{"smtp_addr: port must be 1-65535"}},
		{"scope", func(c *Config) { c.GraphScope = "Mail.Send" }, []string{"graph_scope: must be one scope"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mutate(&c)
			err := c.Validate()
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			var fe *FieldError
			assert.True(t, errors.As(err, &fe))
			_, nerr := New(c)
			assert.Error(t, nerr, "New validates")
		})
	}
}

func TestEndpointsOf(t *testing.T) {
	for _, c := range []Cloud{"", CloudGlobal, CloudUSGov, CloudUSGovDoD, CloudChina} {
		ep, ok := EndpointsOf(c)
		require.True(t, ok, c)
		for _, u := range []string{ep.AuthURL, ep.GraphURL, ep.ServerURL} {
			assert.True(t, strings.HasPrefix(u, "https://"), u)
		}
		assert.True(t, strings.HasSuffix(ep.SMTPAddr, ":587"))
	}
	ep, _ := EndpointsOf("")
	assert.Equal(t, "https://login.microsoftonline.com", ep.AuthURL)
	assert.Equal(t, "https://outlook.office365.com", ep.ServerURL)
	_, ok := EndpointsOf("mars")
	assert.False(t, ok)
}

func TestEnvURLs(t *testing.T) {
	t.Setenv(EnvAuthURL, " https://login.partner.example ")
	t.Setenv(EnvServerURL, "")
	a, s := EnvURLs()
	assert.Equal(t, "https://login.partner.example", a)
	assert.Equal(t, "", s)
	// New never reads the environment by itself.
	snd, err := New(validConfig())
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(snd.TokenURL(), "https://login.microsoftonline.com/"))
}

func TestConfigJSONRoundTrip(t *testing.T) {
	in := `{"tenant_id":"t.example","client_id":"c","client_secret":"s3cret","address":"a@b.example","mode":"ews","cloud":"usgov","server_url":"https://exo.test"}`
	var c Config
	require.NoError(t, json.Unmarshal([]byte(in), &c))
	assert.Equal(t, ModeEWS, c.Mode)
	assert.Equal(t, CloudUSGov, c.Cloud)
	assert.Equal(t, "s3cret", c.ClientSecret.Reveal())
	require.NoError(t, c.Validate())
	out, err := json.Marshal(c)
	require.NoError(t, err)
	assert.NotContains(t, string(out), "s3cret")
}

// The client secret never appears in any printed, marshalled or logged
// form of the configuration or of the sender's errors and logs.
func TestSecretNeverPrinted(t *testing.T) {
	c := validConfig()
	var logBuf bytes.Buffer
	c.Logger = slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	forms := []string{
		fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%s", c),
		fmt.Sprintf("%v", &c), fmt.Sprintf("%+v", c.ClientSecret), fmt.Sprintf("%#v", c.ClientSecret),
	}
	j, err := json.Marshal(c)
	require.NoError(t, err)
	forms = append(forms, string(j))
	var jl bytes.Buffer
	slog.New(slog.NewJSONHandler(&jl, nil)).Info("cfg", "config", c, "secret", c.ClientSecret)
	slog.New(slog.NewTextHandler(&jl, nil)).Info("cfg", "config", c, "secret", c.ClientSecret)
	forms = append(forms, jl.String())
	for _, f := range forms {
		assert.NotContains(t, f, testSecret)
		assert.NotContains(t, f, "Qx8~s3cr3t")
	}

	// Errors and logs of failing sends, in every mode.
	for _, mode := range []Mode{ModeGraph, ModeEWS, ModeSMTP} {
		f := newFakeMS(t, false)
		cfg := f.config(mode)
		cfg.Logger = c.Logger
		cfg.ClientSecret = NewSecret(testSecret + "-wrong")
		s := newTestSender(t, cfg)
		err := s.Send(t.Context(), testEnv, []byte(testMsg))
		require.Error(t, err)
		rep, terr := s.TestConnection(t.Context())
		require.Error(t, terr)
		for _, txt := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), terr.Error(), rep.String()} {
			assert.NotContains(t, txt, "Qx8~s3cr3t", mode)
		}
		rj, _ := json.Marshal(rep)
		assert.NotContains(t, string(rj), "Qx8~s3cr3t")
		sn := fmt.Sprintf("%+v %#v", s, s)
		assert.NotContains(t, sn, "Qx8~s3cr3t")
	}
	assert.NotEmpty(t, logBuf.String())
	assert.NotContains(t, logBuf.String(), "Qx8~s3cr3t")
	assert.NotContains(t, logBuf.String(), "eyJ", "no token in logs")
}

func TestEWSRetirementWarning(t *testing.T) {
	for _, tc := range []struct {
		name   string
		now    time.Time
		server string
		warn   bool
	}{
		{"before October 2026", time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), "", false},
		{"after, Exchange Online", time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC), "", true},
		{"after, on-premises", time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC), "https://mail.contoso.example", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			c := validConfig()
			c.Mode, c.ServerURL = ModeEWS, tc.server
			c.Now = func() time.Time { return tc.now }
			c.Logger = slog.New(slog.NewTextHandler(&buf, nil))
			_, err := New(c)
			require.NoError(t, err)
			assert.Equal(t, tc.warn, strings.Contains(buf.String(), "disables EWS"), buf.String())
		})
	}
}

// TestConfigBadVerbsAndNestedPointers prints the configuration by value, by
// pointer and behind a caller's struct with verbs fmt rejects for a
// pointer (%t, %e): fmt then prints the pointed-to value field by field,
// which revealed the client secret before Config had a Format method
// (String alone is called only for %v, %s, %x, %X and %q).
func TestConfigBadVerbsAndNestedPointers(t *testing.T) {
	type holder struct{ C any }
	c := validConfig()
	leaks := []string{testSecret, fmt.Sprintf("%x", testSecret), fmt.Sprintf("%X", testSecret)}
	for _, v := range []any{c, &c, holder{c}, holder{&c}, &holder{&c}, []any{&c}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X", "%q", "%t", "%e"} {
			out := fmt.Sprintf(verb, v)
			for _, l := range leaks {
				require.NotContains(t, out, l, "%T printed with %s", v, verb)
			}
		}
	}
}
