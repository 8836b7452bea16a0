package smtpsend_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/mailqueue/smtpsend"
)

func TestConfigValidation(t *testing.T) {
	tokens := smtpsend.TokenFunc(func(context.Context, bool) (string, error) { return "t", nil })
	for _, tc := range []struct {
		name string
		cfg  smtpsend.Config
		want []string // every problem, in order
	}{
		{"ok minimal", smtpsend.Config{Host: "mail.example.com"}, nil},
		{"ok xoauth2", smtpsend.Config{Host: "smtp.office365.com", Username: "vm@contoso.com", Tokens: tokens}, nil},
		{"everything wrong", smtpsend.Config{Host: "", Port: 70000, Security: "ssl", Auth: "NTLM", MinTLS: "ssl3", LocalName: "a b",
			Timeouts: smtpsend.Timeouts{Dial: -time.Second}},
			[]string{
				"host: is required",
				`security: must be one of auto, starttls, tls, none; got "ssl"`,
				"port: must be 1-65535, got 70000",
				`auth: must be one of PLAIN, LOGIN, CRAM-MD5, XOAUTH2; got "NTLM"`,
				`min_tls: SSL 3.0 is not available in Go (removed in Go 1.14); the oldest is "1.0", got "ssl3"`,
				`local_name: must be a host name without spaces, got "a b"`,
				"timeouts.dial: must not be negative, got -1s",
			}},
		{"credentials in clear", smtpsend.Config{Host: "h", Security: smtpsend.SecurityNone, Username: "u", Password: smtpsend.NewSecret("p")},
			[]string{"security: none would send credentials in clear; use auto, starttls or tls"}},
		{"password without user", smtpsend.Config{Host: "h", Password: smtpsend.NewSecret("p")}, []string{"username: is required when a password is set"}},
		{"user without password", smtpsend.Config{Host: "h", Username: "u"}, []string{"password: is required when a username is set"}},
		{"xoauth2 without tokens", smtpsend.Config{Host: "h", Username: "u", Auth: "xoauth2"}, []string{"auth: XOAUTH2 needs a token source"}},
		{"bad min tls", smtpsend.Config{Host: "h", MinTLS: "1.4"}, []string{`min_tls: must be one of 1.0, 1.1, 1.2, 1.3; got "1.4"`}},
		{"ok ipv6", smtpsend.Config{Host: "2001:db8::25"}, nil},
		{"host with port", smtpsend.Config{Host: "smtp.example.com:587"}, []string{`host: must not include a port; use the port field, got "smtp.example.com:587"`}},
		{"bracketed ipv6", smtpsend.Config{Host: "[2001:db8::25]"}, []string{`host: must not have brackets; write an IPv6 address plain, got "[2001:db8::25]"`}},
		{"host with user", smtpsend.Config{Host: "u@smtp.example.com"}, []string{`host: must be a DNS name or IP address, got "u@smtp.example.com"`}},
		{"missing ca file", smtpsend.Config{Host: "h", CAFile: "/nonexistent/ca.pem"}, []string{"ca_file: cannot be read: open /nonexistent/ca.pem: no such file or directory"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			_, nerr := smtpsend.New(tc.cfg)
			if tc.want == nil {
				require.NoError(t, err)
				require.NoError(t, nerr)
				return
			}
			require.Error(t, err)
			require.EqualError(t, err, strings.Join(tc.want, "\n"))
			require.EqualError(t, nerr, strings.Join(tc.want, "\n"))
			var fe *smtpsend.FieldError
			require.True(t, errors.As(err, &fe))
		})
	}
}

func TestDefaultPorts(t *testing.T) {
	for _, tc := range []struct {
		sec  smtpsend.Security
		want string
	}{
		{"", "h:587"}, {smtpsend.SecurityStartTLS, "h:587"}, {smtpsend.SecurityTLS, "h:465"}, {smtpsend.SecurityNone, "h:25"},
	} {
		s, err := smtpsend.New(smtpsend.Config{Host: "h", Security: tc.sec})
		require.NoError(t, err)
		require.Equal(t, tc.want, s.Addr())
	}
}

func TestCAFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	require.NoError(t, os.WriteFile(bad, []byte("not pem"), 0o600))
	require.ErrorContains(t, smtpsend.Config{Host: "h", CAFile: bad}.Validate(), "ca_file: holds no PEM certificate")

	// A CA file makes the test server trusted.
	good := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(good, pemCert(t), 0o600))
	be := &backend{}
	port := startServer(t, be, withTLS(t))
	cfg := baseConfig(t, port)
	cfg.RootCAs = nil
	cfg.CAFile = good
	cfg.RequireTLS = true
	require.NoError(t, newSender(t, cfg).Send(context.Background(), env(), []byte(testMsg)))
	require.True(t, be.messages()[0].TLS)
}

func TestConfigJSON(t *testing.T) {
	in := `{"host":"mail.example.com","port":587,"security":"starttls","username":"fax@example.com","password":"pa55",` +
		`"auth":"LOGIN","min_tls":"1.0","local_name":"ucx.example.com","from":"fax@example.com","timeouts":{"greeting":"20s","final":"2m"}}`
	var cfg smtpsend.Config
	require.NoError(t, json.Unmarshal([]byte(in), &cfg))
	require.Equal(t, smtpsend.SecurityStartTLS, cfg.Security)
	require.Equal(t, "pa55", cfg.Password.Reveal())
	require.Equal(t, 20*time.Second, cfg.Timeouts.Greeting)
	require.Equal(t, 2*time.Minute, cfg.Timeouts.Final)
	require.NoError(t, cfg.Validate())
	out, err := json.Marshal(cfg)
	require.NoError(t, err)
	require.NotContains(t, string(out), "pa55")
	require.Contains(t, string(out), `"timeouts":{"greeting":"20s","final":"2m0s"}`)

	require.EqualError(t, json.Unmarshal([]byte(`{"timeouts":{"dial":"soon","tls":"1x"}}`), &cfg),
		"timeouts.dial: must be a duration such as \"30s\", got \"soon\"\ntimeouts.tls: must be a duration such as \"30s\", got \"1x\"")
}

func TestSecretsNeverPrinted(t *testing.T) {
	const pw = "Sup3r-Secr3t!"
	const tok = "eyJ0eXAiOiJKV1Qi-token"
	be := &backend{authOK: func(string, string, string) error { return nil }}
	port := startServer(t, be, withTLS(t))
	var logs, trace bytes.Buffer
	cfg := baseConfig(t, port)
	cfg.Username, cfg.Password = "u@example.com", smtpsend.NewSecret(pw)
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.DebugWriter = &trace
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out = append(out, fmt.Sprintf(verb, cfg), fmt.Sprintf(verb, &cfg))
	}
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	out = append(out, string(b))
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("cfg", "cfg", cfg)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("cfg", "cfg", cfg)

	s := newSender(t, cfg)
	require.NoError(t, s.Send(context.Background(), env(), []byte(testMsg)))
	rep, err := s.TestConnection(context.Background())
	require.NoError(t, err)
	rb, _ := json.Marshal(rep)
	out = append(out, string(rb), fmt.Sprintf("%+v", rep))

	// A failing XOAUTH2 attempt: the error must not carry the token.
	be2 := &backend{authOK: func(string, string, string) error { return errors.New("no") }}
	port2 := startServer(t, be2, withTLS(t))
	cfg2 := baseConfig(t, port2)
	cfg2.Username = "u@example.com"
	cfg2.Tokens = smtpsend.TokenFunc(func(context.Context, bool) (string, error) { return tok, nil })
	cfg2.DebugWriter = &trace
	cfg2.Logger = cfg.Logger
	err = newSender(t, cfg2).Send(context.Background(), env(), []byte(testMsg))
	require.Error(t, err)
	out = append(out, err.Error(), fmt.Sprintf("%+v", err), logs.String(), trace.String())

	all := strings.Join(out, "\n")
	for _, secret := range []string{pw, tok, b64(pw), b64("\x00u@example.com\x00" + pw), b64("user=u@example.com\x01auth=Bearer " + tok + "\x01\x01")} {
		require.NotContains(t, all, secret)
	}
	require.Contains(t, all, "[REDACTED]")
}

func TestTokenCache(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	n := 0
	c := &smtpsend.TokenCache{
		Now: func() time.Time { return now },
		Fetch: func(context.Context) (*oauthToken, error) {
			n++
			return &oauthToken{AccessToken: fmt.Sprintf("t%d", n), Expiry: now.Add(time.Hour)}, nil
		},
	}
	ctx := context.Background()
	get := func(refresh bool) string {
		tok, err := c.Token(ctx, refresh)
		require.NoError(t, err)
		return tok
	}
	require.Equal(t, "t1", get(false))
	require.Equal(t, "t1", get(false), "cached")
	require.Equal(t, "t2", get(true), "refresh forces a fetch")
	now = now.Add(56 * time.Minute) // within 5 min of expiry
	require.Equal(t, "t3", get(false))

	c2 := &smtpsend.TokenCache{Fetch: func(context.Context) (*oauthToken, error) { return nil, errors.New("invalid_client") }}
	_, err := c2.Token(ctx, false)
	require.ErrorContains(t, err, "invalid_client")
}

func FuzzTimeoutsJSON(f *testing.F) {
	f.Add(`{"dial":"30s","greeting":"1m","final":"10m"}`)
	f.Add(`{"tls":"-1s"}`)
	f.Add(`{"command":""}`)
	f.Fuzz(func(t *testing.T, in string) {
		var to smtpsend.Timeouts
		if err := json.Unmarshal([]byte(in), &to); err != nil {
			return
		}
		out, err := json.Marshal(to)
		if err != nil {
			t.Fatal(err)
		}
		var back smtpsend.Timeouts
		if err := json.Unmarshal(out, &back); err != nil || back != to {
			t.Fatalf("round trip %s -> %s: %+v != %+v (%v)", in, out, back, to, err)
		}
	})
}
