package o365

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/ucxkit/ucxkit/mailqueue"
)

// hostile is a token endpoint and service that answer whatever a test
// scripts, counting the calls.
type hostile struct {
	tokenCalls, serviceCalls atomic.Int32
	token                    http.HandlerFunc
	service                  http.HandlerFunc
	srv                      *httptest.Server
}

func newHostile(t *testing.T, token, service http.HandlerFunc) *hostile {
	h := &hostile{token: token, service: service}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
			h.tokenCalls.Add(1)
			h.token(w, r)
			return
		}
		h.serviceCalls.Add(1)
		h.service(w, r)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hostile) config(mode Mode) Config {
	return Config{
		TenantID: testTenant, ClientID: testClient, ClientSecret: NewSecret(testSecret), Sender: testSender,
		Mode: mode, AuthURL: h.srv.URL, GraphURL: h.srv.URL + "/graph", ServerURL: h.srv.URL,
		GraphScope: "https://graph.microsoft.com/.default", HTTPClient: h.srv.Client(),
	}
}

func goodToken(expiresIn string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"token_type":"Bearer","expires_in":%s,"access_token":"tok-%d"}`, expiresIn, time.Now().UnixNano())
	}
}

func accepted(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) }

// TestHostileTokenEndpoint: garbage, huge and slow token answers end in a
// transport error (the queue retries later) that does not carry the secret,
// and a slow endpoint gives up at the caller's deadline.
func TestHostileTokenEndpoint(t *testing.T) {
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	cases := map[string]http.HandlerFunc{
		"garbage": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, "<html>proxy error "+testSecret+"</html>")
		},
		"no token": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"token_type":"Bearer","expires_in":3599}`)
		},
		"huge": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"access_token":"`)
			chunk := strings.Repeat("A", 64<<10)
			for i := 0; i < 64<<20/len(chunk); i++ {
				if _, err := io.WriteString(w, chunk); err != nil {
					return
				}
			}
		},
		"slow": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-block:
			case <-r.Context().Done():
			}
		},
	}
	for name, tokenHandler := range cases {
		t.Run(name, func(t *testing.T) {
			h := newHostile(t, tokenHandler, accepted)
			s := newTestSender(t, h.config(ModeGraph))
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			err := s.Send(ctx, testEnv, []byte(testMsg))
			de := requireClass(t, err, mailqueue.ClassTransport)
			require.Equal(t, "token", de.Step)
			require.NotContains(t, err.Error(), testSecret)
			require.Zero(t, h.serviceCalls.Load(), "nothing is sent without a token")
			if name == "slow" {
				require.ErrorIs(t, err, context.DeadlineExceeded)
			}
		})
	}
}

// TestTokenLifetimeOutOfRange: an absurd expires_in (overflowing a
// time.Duration) must not make the cache think every token is already
// stale (one token call per message), nor keep a token forever.
func TestTokenLifetimeOutOfRange(t *testing.T) {
	for _, exp := range []string{"9223372036854775807", "100000000000", "-5", "1"} {
		t.Run(exp, func(t *testing.T) {
			h := newHostile(t, goodToken(exp), accepted)
			s := newTestSender(t, h.config(ModeGraph))
			for i := 0; i < 5; i++ {
				require.NoError(t, s.Send(t.Context(), testEnv, []byte(testMsg)))
			}
			if exp != "1" {
				require.EqualValues(t, 1, h.tokenCalls.Load(), "one token for five messages")
			}
			lt := tokenLifetime(mustToken(t, s))
			require.Greater(t, lt, time.Duration(0))
			require.LessOrEqual(t, lt, maxLifetime)
		})
	}
}

// TestGraphHostileAnswers: 429 without Retry-After is temporary with no
// imposed delay (the queue's own backoff applies); a huge error body is
// read only up to the limit; a 202 is success whatever its body.
func TestGraphHostileAnswers(t *testing.T) {
	t.Run("429 without Retry-After", func(t *testing.T) {
		h := newHostile(t, goodToken("3599"), func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusTooManyRequests)
		})
		s := newTestSender(t, h.config(ModeGraph))
		de := requireClass(t, s.Send(t.Context(), testEnv, []byte(testMsg)), mailqueue.ClassTemporary)
		require.Zero(t, de.RetryAfter)
		require.Equal(t, http.StatusTooManyRequests, de.Code)
	})
	t.Run("429 with a garbage Retry-After", func(t *testing.T) {
		h := newHostile(t, goodToken("3599"), func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "-1e99")
			w.WriteHeader(http.StatusTooManyRequests)
		})
		s := newTestSender(t, h.config(ModeGraph))
		de := requireClass(t, s.Send(t.Context(), testEnv, []byte(testMsg)), mailqueue.ClassTemporary)
		require.Zero(t, de.RetryAfter)
	})
	t.Run("huge error body", func(t *testing.T) {
		h := newHostile(t, goodToken("3599"), func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			chunk := strings.Repeat("x", 64<<10)
			for i := 0; i < 64<<20/len(chunk); i++ {
				if _, err := io.WriteString(w, chunk); err != nil {
					return
				}
			}
		})
		s := newTestSender(t, h.config(ModeGraph))
		err := s.Send(t.Context(), testEnv, []byte(testMsg))
		requireClass(t, err, mailqueue.ClassPermanent)
		require.Less(t, len(err.Error()), 2000, "the error stays readable")
	})
}

// TestEWSMalformedAnswers: an answer that is not XML or has no SOAP body
// after a 200 is ambiguous (the message may have gone out); after a 5xx it
// is temporary; deep nesting is refused without exhausting the stack.
func TestEWSMalformedAnswers(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		class  mailqueue.Class
	}{
		{"200 not XML", 200, "<<<>>> not xml", mailqueue.ClassAmbiguous},
		{"200 HTML", 200, "<html><body>Sign in</body></html>", mailqueue.ClassAmbiguous},
		{"200 truncated", 200, `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:CreateItemResponse>`, mailqueue.ClassAmbiguous},
		{"200 deep", 200, strings.Repeat("<a>", 100000), mailqueue.ClassAmbiguous},
		{"500 not XML", 500, "oops", mailqueue.ClassTemporary},
		{"200 empty", 200, "", mailqueue.ClassAmbiguous},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHostile(t, goodToken("3599"), func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(c.status)
				io.WriteString(w, c.body)
			})
			s := newTestSender(t, h.config(ModeEWS))
			requireClass(t, s.Send(t.Context(), testEnv, []byte(testMsg)), c.class)
		})
	}
}

func mustToken(t *testing.T, s *Sender) *oauth2.Token {
	t.Helper()
	tok, err := s.tokens.cc.Token(context.WithValue(t.Context(), oauth2.HTTPClient, s.tokens.client))
	require.NoError(t, err)
	return tok
}

// TestInvalidateHonoursDeadline: dropping a rejected token waits for a
// token fetch in progress (another goroutine, a slow endpoint) only as long
// as the caller's context allows; it used to wait for that fetch whatever
// the caller's deadline.
func TestInvalidateHonoursDeadline(t *testing.T) {
	h := newHostile(t, goodToken("3599"), accepted)
	s := newTestSender(t, h.config(ModeGraph))
	ts := s.tokens
	require.NoError(t, ts.acquire(t.Context())) // a fetch in progress elsewhere
	defer ts.release()
	for _, drop := range []func(context.Context){
		func(ctx context.Context) { ts.Invalidate(ctx, "tok") },
		ts.dropCurrent,
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		done := make(chan struct{})
		go func() { drop(ctx); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatal("still waiting a minute after the caller's deadline")
		}
		cancel()
	}
}
