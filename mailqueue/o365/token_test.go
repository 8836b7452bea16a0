package o365

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/ucxkit/ucxkit/mailqueue"
)

// A token living 4 s over messages sent across 12 s: the endpoint is asked
// a few times, never once per message, and no expired token is presented.
func TestTokenShortLifetimeAcrossTwelveSeconds(t *testing.T) {
	for _, mode := range []Mode{ModeGraph, ModeEWS} {
		t.Run(string(mode), func(t *testing.T) {
			f := newFakeMS(t, false)
			f.with(func(f *fakeMS) { f.expiresIn = 4 })
			s := newTestSender(t, f.config(mode))
			const messages = 48 // one every 250 ms for 12 s
			for i := range messages {
				require.NoError(t, s.Send(context.Background(), testEnv, []byte(testMsg)), "message %d", i)
				f.clock.Advance(250 * time.Millisecond)
			}
			sn := f.snap()
			assert.Zero(t, sn.expired, "an expired token was presented")
			assert.Zero(t, sn.wrongAud)
			// Refreshed 1 s before expiry: a new token every 3 s.
			assert.GreaterOrEqual(t, sn.tokenCalls, 3)
			assert.LessOrEqual(t, sn.tokenCalls, 6)
			assert.Less(t, sn.tokenCalls, messages/4)
			assert.Equal(t, messages, len(sn.graphMsgs)+len(sn.ewsMsgs))
		})
	}
}

func TestTokenScopesPerResource(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"graph global", Config{Mode: ModeGraph}, "https://graph.microsoft.com/.default"},
		{"graph usgov", Config{Mode: ModeGraph, Cloud: CloudUSGov}, "https://graph.microsoft.us/.default"},
		{"smtp global", Config{Mode: ModeSMTP}, "https://outlook.office365.com/.default"},
		{"ews china", Config{Mode: ModeEWS, Cloud: CloudChina}, "https://partner.outlook.cn/.default"},
		{"ews custom server", Config{Mode: ModeEWS, ServerURL: "https://exo.test/"}, "https://exo.test/.default"},
		{"ews server with path", Config{Mode: ModeEWS, ServerURL: "https://mail.contoso.example/owa"}, "https://mail.contoso.example/.default"},
		{"scope override", Config{Mode: ModeEWS, ServerScope: "https://outlook.office365.com/.default", ServerURL: "https://gw.test"}, "https://outlook.office365.com/.default"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			c.TenantID, c.ClientID, c.ClientSecret, c.Sender = testTenant, testClient, NewSecret(testSecret), testSender
			s, err := New(c)
			require.NoError(t, err)
			defer s.Close()
			assert.Equal(t, tc.want, s.Scope())
		})
	}
}

func TestTokenURL(t *testing.T) {
	s, err := New(Config{TenantID: "contoso.onmicrosoft.com", ClientID: testClient, ClientSecret: NewSecret(testSecret), Sender: testSender,
		Cloud: CloudUSGovDoD})
	require.NoError(t, err)
	assert.Equal(t, "https://login.microsoftonline.us/contoso.onmicrosoft.com/oauth2/v2.0/token", s.TokenURL())
	s, err = New(Config{TenantID: testTenant, ClientID: testClient, ClientSecret: NewSecret(testSecret), Sender: testSender,
		AuthURL: "https://login.example.test/"})
	require.NoError(t, err)
	assert.Equal(t, "https://login.example.test/"+testTenant+"/oauth2/v2.0/token", s.TokenURL())
}

func TestTokenErrorsAreConfigWithAADCode(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Config)
		code   string
		aad    int
		hint   string
	}{
		{"bad secret", func(c *Config) { c.ClientSecret = NewSecret("wrong-secret") }, "invalid_client", 7000215, "client secret"},
		{"unknown app", func(c *Config) { c.ClientID = "00000000-0000-0000-0000-000000000000" }, "unauthorized_client", 700016, "application"},
		{"tenant not found", func(c *Config) { c.TenantID = "nosuchtenant.example" }, "invalid_request", 90002, "tenant"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeMS(t, false)
			cfg := f.config(ModeGraph)
			tc.mutate(&cfg)
			s := newTestSender(t, cfg)
			err := s.Send(context.Background(), testEnv, []byte(testMsg))
			de := requireClass(t, err, mailqueue.ClassConfig)
			assert.Equal(t, "token", de.Step)
			assert.Contains(t, de.Hint, tc.hint)
			var te *TokenError
			require.ErrorAs(t, err, &te)
			assert.Equal(t, tc.code, te.Code)
			assert.Contains(t, te.AADCodes, tc.aad)
			assert.Contains(t, err.Error(), "AADSTS")
			assert.NotContains(t, err.Error(), testSecret)
			assert.Zero(t, f.snap().graphCalls)
		})
	}
}

func TestTokenEndpointTroubleIsTransport(t *testing.T) {
	t.Run("503", func(t *testing.T) {
		f := newFakeMS(t, false)
		f.with(func(f *fakeMS) {
			f.tokenErr = &cannedResponse{status: 503, header: map[string]string{"Retry-After": "20"}, body: `{"error":"temporarily_unavailable","error_codes":[50001]}`}
		})
		s := newTestSender(t, f.config(ModeGraph))
		de := requireClass(t, s.Send(context.Background(), testEnv, []byte(testMsg)), mailqueue.ClassTransport)
		assert.Equal(t, "token", de.Step)
		assert.Equal(t, 20*time.Second, de.RetryAfter)
	})
	t.Run("unreachable", func(t *testing.T) {
		f := newFakeMS(t, false)
		cfg := f.config(ModeGraph)
		cfg.AuthURL = "http://127.0.0.1:1"
		s := newTestSender(t, cfg)
		de := requireClass(t, s.Send(context.Background(), testEnv, []byte(testMsg)), mailqueue.ClassTransport)
		assert.Equal(t, "token", de.Step)
		assert.NotContains(t, de.Error(), testSecret)
	})
}

func TestTokenConcurrentCallersShareOneFetch(t *testing.T) {
	f := newFakeMS(t, false)
	s := newTestSender(t, f.config(ModeGraph))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			assert.NoError(t, s.Send(context.Background(), testEnv, []byte(testMsg)))
		})
	}
	wg.Wait()
	assert.Equal(t, 1, f.snap().tokenCalls)
	assert.Len(t, f.snap().graphMsgs, 8)
}

func TestTokenWaitHonoursContext(t *testing.T) {
	f := newFakeMS(t, false)
	s := newTestSender(t, f.config(ModeGraph))
	s.tokens.lock <- struct{}{} // someone else is fetching, forever
	defer s.tokens.release()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := s.tokens.Token(ctx)
	requireClass(t, err, mailqueue.ClassTransport)
	assert.True(t, errors.Is(err, context.DeadlineExceeded))
}

func TestTokenLifetime(t *testing.T) {
	cases := []struct {
		name string
		raw  map[string]any
		want time.Duration
	}{
		{"number", map[string]any{"expires_in": float64(3599)}, 3599 * time.Second},
		{"string (v1 endpoint)", map[string]any{"expires_in": "3600"}, time.Hour},
		{"missing", map[string]any{}, fallbackLifetime},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := (&oauth2.Token{AccessToken: "x"}).WithExtra(tc.raw)
			assert.Equal(t, tc.want, tokenLifetime(tok))
		})
	}
}

func TestParseClaims(t *testing.T) {
	tok := makeJWT(map[string]any{"aud": "https://graph.microsoft.com", "roles": []string{"Mail.Send"}, "tid": testTenant, "appid": testClient})
	c, ok := ParseClaims(tok)
	require.True(t, ok)
	assert.Equal(t, Claims{Audience: "https://graph.microsoft.com", Roles: []string{"Mail.Send"}, TenantID: testTenant, AppID: testClient}, c)

	c, ok = ParseClaims(makeJWT(map[string]any{"aud": []string{"api://x", "api://y"}, "azp": "app2"}))
	require.True(t, ok)
	assert.Equal(t, "api://x", c.Audience)
	assert.Equal(t, "app2", c.AppID)

	for _, bad := range []string{"", "opaque-token", "a.b", "a.!!!.c", "a." + strings.Repeat("x", 10) + ".c"} {
		_, ok := ParseClaims(bad)
		assert.False(t, ok, bad)
	}
}

func FuzzParseClaims(f *testing.F) {
	f.Add(makeJWT(map[string]any{"aud": "x", "roles": []string{"a"}}))
	f.Add("a.e30.c")
	f.Add("a.W10.c")
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := ParseClaims(s)
		if !ok && (c.Audience != "" || len(c.Roles) != 0) {
			t.Fatalf("claims returned for a refused token")
		}
	})
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"30", 30 * time.Second}, {"-4", 0}, {"junk", 0}, {"999999999", 24 * time.Hour},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			assert.Equal(t, tc.want, retryAfter(http.Header{"Retry-After": {tc.in}}, now))
		})
	}
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"1", "Wed, 21 Oct 2026 07:28:00 GMT", "-1", "9223372036854775807"} {
		f.Add(s)
	}
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d := retryAfter(http.Header{"Retry-After": {s}}, now)
		if d < 0 || d > 24*time.Hour {
			t.Fatalf("retryAfter(%q) = %v", s, d)
		}
	})
}
