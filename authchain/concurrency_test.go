package authchain

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestConcurrentLDAPAndSessions runs logins and requests in parallel; run
// with -race.
func TestConcurrentLDAPAndSessions(t *testing.T) {
	pki := newTestPKI(t)
	srv := newTestLDAP(t, pki, false, testEntries()...)
	cfg := testLDAPConfig(srv, pki)
	// As many idle connections per kind as goroutines: no connection is
	// ever discarded, so at most 6 search and 6 bind connections exist.
	cfg.PoolSize = 6
	a := newLDAPAuth(t, cfg)
	dir, err := NewMemoryDirectory(User{Login: "john", LDAPUsername: "jdoe"})
	require.NoError(t, err)
	c, err := NewChain(ChainConfig{Order: OrderSSOLDAPLocal, Directory: dir, LDAP: a})
	require.NoError(t, err)
	m, err := NewManager(DefaultSessionConfig(), NewMemoryStore())
	require.NoError(t, err)
	h := m.Middleware(RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				pw := "john-pw"
				if i%3 == 0 {
					pw = "wrong"
				}
				res, err := c.Authenticate(context.Background(), "john", pw)
				if pw == "wrong" {
					if err == nil || ReasonOf(err) != ReasonInvalidCredentials {
						errs <- err
					}
					continue
				}
				if err != nil {
					errs <- err
					continue
				}
				rec := httptest.NewRecorder()
				if _, err := m.Login(context.Background(), rec, httptest.NewRequest("POST", "/", nil), res.User, i%2 == 0); err != nil {
					errs <- err
					continue
				}
				req := httptest.NewRequest("GET", "/", nil)
				req.AddCookie(rec.Result().Cookies()[0])
				rec = httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					errs <- context.Canceled
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.LessOrEqual(t, srv.Conns(), 12, "connections are reused (40 logins)")
}

func FuzzOIDCFlowCookie(f *testing.F) {
	block, _ := aes.NewCipher(make([]byte, 32))
	aead, _ := cipher.NewGCM(block)
	o := &OIDC{aead: func() cipher.AEAD { return aead }, now: time.Now}
	good, _ := o.seal(ssoFlow{State: "s", Nonce: "n", Verifier: "v", ReturnTo: "/", Expires: time.Now().Add(time.Hour).Unix()})
	f.Add(good)
	f.Add("")
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		fl, err := o.open(s)
		if err == nil {
			// Only values sealed with the key open; the fuzzer can only
			// replay the seed corpus's sealed value.
			require.Equal(t, "s", fl.State)
			require.Equal(t, "v", fl.Verifier)
		}
	})
}
