package authchain

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// noopAuth accepts every password; it isolates the chain's own cost.
var noopAuth = AuthenticatorFunc(func(ctx context.Context, u User, pw string) error { return nil })

func benchChain(b *testing.B) *Chain {
	dir, err := NewMemoryDirectory(User{Login: "alice", Roles: []string{"user"}}, User{Login: "john", LDAPUsername: "jdoe"})
	if err != nil {
		b.Fatal(err)
	}
	c, err := NewChain(ChainConfig{Order: OrderSSOLDAPUCMLocal, Directory: dir, Local: noopAuth, LDAP: noopAuth, UCM: noopAuth, SSO: fakeSSO{}})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkAuthenticatorDirect is the baseline: the chosen authenticator
// called directly with a user record already in hand.
func BenchmarkAuthenticatorDirect(b *testing.B) {
	ctx := context.Background()
	u := User{Login: "john", LDAPUsername: "jdoe"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := noopAuth.Authenticate(ctx, u, "pw"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChainAuthenticate is the same authenticator reached through the
// chain: login normalization, directory lookup, method choice, result.
// Chain overhead = this minus BenchmarkAuthenticatorDirect.
func BenchmarkChainAuthenticate(b *testing.B) {
	c := benchChain(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Authenticate(ctx, "John", "pw"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLocalKnownWrongPassword and BenchmarkLocalUnknownUser show that
// an unknown login costs the same argon2id check as a known one.
func BenchmarkLocalKnownWrongPassword(b *testing.B) { benchLocal(b, "alice") }

// BenchmarkLocalUnknownUser runs the dummy hash check.
func BenchmarkLocalUnknownUser(b *testing.B) { benchLocal(b, "ghost") }

func benchLocal(b *testing.B, login string) {
	h, err := HashPassword("right", Argon2Params{})
	if err != nil {
		b.Fatal(err)
	}
	dir, _ := NewMemoryDirectory(User{Login: "alice", PasswordHash: h})
	c, err := NewChain(ChainConfig{Order: OrderSSOLocal, Directory: dir})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Authenticate(ctx, login, "wrong"); err == nil {
			b.Fatal("accepted")
		}
	}
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })

// BenchmarkHandlerBare is the baseline for the middleware cost.
func BenchmarkHandlerBare(b *testing.B) {
	req := httptest.NewRequest("GET", "https://portal.example/", nil)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		okHandler.ServeHTTP(httptest.NewRecorder(), req)
	}
}

// BenchmarkSessionMiddleware is a request with a valid session cookie
// through Manager.Middleware over the memory store (touches throttled).
func BenchmarkSessionMiddleware(b *testing.B) {
	m, err := NewManager(DefaultSessionConfig(), NewMemoryStore())
	if err != nil {
		b.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if _, err := m.Login(context.Background(), rec, httptest.NewRequest("POST", "/", nil), User{Login: "alice"}, true); err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest("GET", "https://portal.example/", nil)
	req.AddCookie(rec.Result().Cookies()[0])
	h := m.Middleware(okHandler)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}
