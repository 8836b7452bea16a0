package authchain_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/ucxkit/ucxkit/authchain"
)

// A local user and an LDAP user in the order "sso>ldap>local": the LDAP
// user's local hash is never consulted, and a session is opened for the
// local user.
func Example() {
	ctx := context.Background()
	hash, _ := authchain.HashPassword("correct horse", authchain.Argon2Params{})
	dir, _ := authchain.NewMemoryDirectory(
		authchain.User{Login: "alice", PasswordHash: hash, Roles: []string{"operator"}},
		authchain.User{Login: "john", LDAPUsername: "jdoe", PasswordHash: hash},
	)
	// An LDAP server that is down: in a real program, NewLDAPAuthenticator.
	ldapDown := authchain.AuthenticatorFunc(func(ctx context.Context, u authchain.User, pw string) error {
		return &authchain.AuthError{Method: authchain.MethodLDAP, Reason: authchain.ReasonUnreachable, Kind: authchain.ErrUnavailable}
	})
	chain, err := authchain.NewChain(authchain.ChainConfig{Order: authchain.OrderSSOLDAPLocal, Directory: dir, LDAP: ldapDown})
	if err != nil {
		panic(err)
	}

	res, err := chain.Authenticate(ctx, "  Alice ", "correct horse")
	fmt.Println(res.User.Login, res.Method, err)

	_, err = chain.Authenticate(ctx, "john", "correct horse")
	fmt.Println(errors.Is(err, authchain.ErrUnavailable), authchain.ReasonOf(err))

	_, err = chain.Authenticate(ctx, "nobody", "guess")
	fmt.Println(errors.Is(err, authchain.ErrDenied), authchain.ReasonOf(err))

	m, _ := authchain.NewManager(authchain.DefaultSessionConfig(), authchain.NewMemoryStore())
	rec := httptest.NewRecorder()
	s, _ := m.Login(ctx, rec, httptest.NewRequest(http.MethodPost, "/login", nil), res.User, true)
	c := rec.Result().Cookies()[0]
	fmt.Println(s.Login, c.Name, c.Secure, c.HttpOnly, c.MaxAge/86400, "days")
	// Output:
	// alice local <nil>
	// true unreachable
	// true invalid_credentials
	// alice __Host-ucx_session true true 8 days
}

// ParseOrder accepts the seed's wording and checks the rules.
func ExampleParseOrder() {
	o, err := authchain.ParseOrder("SSO > AD/LDAP > Cisco UCM > Local")
	fmt.Println(o, err)
	_, err = authchain.ParseOrder("sso>ldap")
	fmt.Println(err)
	// Output:
	// sso>ldap>ucm>local <nil>
	// must end with "local", got "sso>ldap"
}
