package authchain

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/stretchr/testify/require"
)

// cheap are argon2id parameters that keep tests fast.
var cheap = Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1}

func mustHash(t testing.TB, pw string) string {
	t.Helper()
	h, err := HashPassword(pw, cheap)
	require.NoError(t, err)
	return h
}

// countingAuth records calls and answers with err.
type countingAuth struct {
	calls atomic.Int32
	err   error
}

func (a *countingAuth) Authenticate(ctx context.Context, u User, pw string) error {
	a.calls.Add(1)
	return a.err
}

type fakeSSO struct{}

func (fakeSSO) Begin(w http.ResponseWriter, r *http.Request, returnTo string) error { return nil }
func (fakeSSO) Finish(w http.ResponseWriter, r *http.Request) (string, string, error) {
	return "", "", errors.New("unused")
}

func testChain(t *testing.T, order Order, ldap, ucm Authenticator, users ...User) (*Chain, *MemoryDirectory) {
	t.Helper()
	dir, err := NewMemoryDirectory(users...)
	require.NoError(t, err)
	local, err := NewLocalAuthenticator(LocalConfig{Params: cheap, Updater: dir})
	require.NoError(t, err)
	c, err := NewChain(ChainConfig{Order: order, Directory: dir, Local: local, LDAP: ldap, UCM: ucm, SSO: fakeSSO{}})
	require.NoError(t, err)
	return c, dir
}

func TestChainDecisionRule(t *testing.T) {
	pw := "correct horse"
	users := []User{
		{Login: "local", PasswordHash: mustHash(t, pw)},
		{Login: "ldapuser", LDAPUsername: "jdoe", LDAPDomain: "CORP", PasswordHash: mustHash(t, pw)},
		{Login: "pbxuser", PBXUsername: "jpbx", PasswordHash: mustHash(t, pw)},
		{Login: "both", LDAPUsername: "both", PBXUsername: "both"},
		{Login: "ssouser", SSOIdentity: "sso@example.com", LDAPUsername: "x", PasswordHash: mustHash(t, pw)},
		{Login: "disabled", PasswordHash: mustHash(t, pw), Disabled: true},
	}
	type tc struct {
		name     string
		order    Order
		login    string
		password string
		ldapErr  error
		ucmErr   error
		want     error
		method   Method
		reason   Reason
		ldapCall int32
		ucmCall  int32
	}
	down := unavailable(MethodLDAP, ReasonUnreachable, errors.New("dial tcp: connection refused"))
	cases := []tc{
		{name: "local user ok", order: OrderSSOLDAPLocal, login: "local", password: pw, method: MethodLocal},
		{name: "local user wrong password", order: OrderSSOLDAPLocal, login: "local", password: "nope", want: ErrDenied, method: MethodLocal, reason: ReasonInvalidCredentials},
		{name: "login is normalized", order: OrderSSOLocal, login: "  LOCAL ", password: pw, method: MethodLocal},
		{name: "unknown user same as wrong password", order: OrderSSOLDAPLocal, login: "ghost", password: "x", want: ErrDenied, method: MethodLocal, reason: ReasonInvalidCredentials},
		{name: "empty password denied first", order: OrderSSOLDAPLocal, login: "ldapuser", password: "", want: ErrDenied, reason: ReasonEmptyPassword},
		{name: "ldap user decided by ldap", order: OrderSSOLDAPLocal, login: "ldapuser", password: pw, method: MethodLDAP, ldapCall: 1},
		{name: "ldap user: local password does not work", order: OrderSSOLDAPLocal, login: "ldapuser", password: pw, ldapErr: denied(MethodLDAP, ReasonInvalidCredentials, nil), want: ErrDenied, method: MethodLDAP, reason: ReasonInvalidCredentials, ldapCall: 1},
		{name: "ldap down is final, local not tried", order: OrderSSOLDAPLocal, login: "ldapuser", password: pw, ldapErr: down, want: ErrUnavailable, method: MethodLDAP, reason: ReasonUnreachable, ldapCall: 1},
		{name: "unclassified authenticator error is unavailable", order: OrderSSOLDAPLocal, login: "ldapuser", password: pw, ldapErr: errors.New("boom"), want: ErrUnavailable, method: MethodLDAP, reason: ReasonServerError, ldapCall: 1},
		{name: "ldap skipped when not in order", order: OrderSSOLocal, login: "ldapuser", password: pw, method: MethodLocal},
		{name: "pbx user in sso>ldap>ucm>local", order: OrderSSOLDAPUCMLocal, login: "pbxuser", password: pw, method: MethodUCM, ucmCall: 1},
		{name: "both fields: ldap first", order: OrderSSOLDAPUCMLocal, login: "both", password: pw, method: MethodLDAP, ldapCall: 1},
		{name: "both fields: ucm first", order: OrderSSOUCMLDAPLocal, login: "both", password: pw, method: MethodUCM, ucmCall: 1},
		{name: "ucm denial is final", order: OrderSSOUCMLDAPLocal, login: "both", password: pw, ucmErr: ErrDenied, want: ErrDenied, method: MethodUCM, reason: ReasonInvalidCredentials, ucmCall: 1},
		{name: "pbx user with ldap-only order falls to local", order: OrderSSOLDAPLocal, login: "pbxuser", password: pw, method: MethodLocal},
		{name: "sso user on password form", order: OrderSSOLDAPLocal, login: "ssouser", password: pw, want: ErrSSORequired, method: MethodSSO, reason: ReasonSSORequired},
		{name: "sso user with custom order without sso uses ldap", order: Order("ldap>local"), login: "ssouser", password: pw, method: MethodLDAP, ldapCall: 1},
		{name: "disabled user with right password", order: OrderSSOLocal, login: "disabled", password: pw, want: ErrDenied, method: MethodLocal, reason: ReasonAccountDisabled},
		{name: "disabled user with wrong password", order: OrderSSOLocal, login: "disabled", password: "x", want: ErrDenied, method: MethodLocal, reason: ReasonInvalidCredentials},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ldap := &countingAuth{err: c.ldapErr}
			ucm := &countingAuth{err: c.ucmErr}
			ch, _ := testChain(t, c.order, ldap, ucm, users...)
			res, err := ch.Authenticate(context.Background(), c.login, c.password)
			if c.want == nil {
				require.NoError(t, err)
				require.Equal(t, c.method, res.Method)
				require.Equal(t, NormalizeLogin(c.login), res.User.Login)
			} else {
				require.ErrorIs(t, err, c.want)
				var ae *AuthError
				require.ErrorAs(t, err, &ae)
				require.Equal(t, c.method, ae.Method)
				require.Equal(t, c.reason, ae.Reason)
				require.NotContains(t, err.Error(), pw)
			}
			require.Equal(t, c.ldapCall, ldap.calls.Load(), "ldap calls")
			require.Equal(t, c.ucmCall, ucm.calls.Load(), "ucm calls")
		})
	}
}

func TestChainUnknownAndWrongPasswordLookAlike(t *testing.T) {
	ch, _ := testChain(t, OrderSSOLocal, nil, nil, User{Login: "alice", PasswordHash: mustHash(t, "pw1")})
	_, e1 := ch.Authenticate(context.Background(), "alice", "wrong")
	_, e2 := ch.Authenticate(context.Background(), "bob", "wrong")
	require.Equal(t, e1.Error(), e2.Error())
	require.Equal(t, ReasonOf(e1), ReasonOf(e2))
}

func TestNewChainNotConfigured(t *testing.T) {
	dir, _ := NewMemoryDirectory()
	_, err := NewChain(ChainConfig{Order: OrderSSOLDAPUCMLocal, Directory: dir})
	require.ErrorIs(t, err, ErrNotConfigured)
	require.Contains(t, err.Error(), "ldap")
	require.Contains(t, err.Error(), "ucm")
	_, err = NewChain(ChainConfig{Order: "ldap>ucm", Directory: nil})
	require.Error(t, err)
	require.Contains(t, err.Error(), "must end with")
	require.Contains(t, err.Error(), "directory")
	// sso without a provider is inert, as in the seed.
	c, err := NewChain(ChainConfig{Order: OrderSSOLocal, Directory: dir})
	require.NoError(t, err)
	require.Equal(t, MethodLocal, c.MethodFor(User{SSOIdentity: "x"}))
}

func TestChainDirectoryFailureIsUnavailable(t *testing.T) {
	dir := DirectoryFunc(func(ctx context.Context, login string) (User, error) {
		return User{}, errors.New("db down")
	})
	c, err := NewChain(ChainConfig{Order: OrderSSOLocal, Directory: dir})
	require.NoError(t, err)
	_, err = c.Authenticate(context.Background(), "a", "b")
	require.ErrorIs(t, err, ErrUnavailable)
	require.NotErrorIs(t, err, ErrDenied)
}

func TestChainRehashesBcrypt(t *testing.T) {
	bh, err := bcrypt.GenerateFromPassword([]byte("legacy"), bcrypt.MinCost)
	require.NoError(t, err)
	ch, dir := testChain(t, OrderSSOLocal, nil, nil, User{Login: "old", PasswordHash: string(bh)})
	_, err = ch.Authenticate(context.Background(), "old", "legacy")
	require.NoError(t, err)
	u, err := dir.Lookup(context.Background(), "old")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$"), u.PasswordHash)
	_, err = ch.Authenticate(context.Background(), "old", "legacy")
	require.NoError(t, err)
	_, err = ch.Authenticate(context.Background(), "old", "wrong")
	require.ErrorIs(t, err, ErrDenied)
}

func TestChainSSO(t *testing.T) {
	ch, _ := testChain(t, OrderSSOLDAPLocal, &countingAuth{}, nil,
		User{Login: "s", SSOIdentity: "S@Example.com"},
		User{Login: "l", PasswordHash: mustHash(t, "x")},
		User{Login: "d", SSOIdentity: "d@example.com", Disabled: true})
	res, err := ch.AuthenticateSSO(context.Background(), "s@example.COM")
	require.NoError(t, err)
	require.Equal(t, "s", res.User.Login)
	require.Equal(t, MethodSSO, res.Method)
	_, err = ch.AuthenticateSSO(context.Background(), "nobody@example.com")
	require.ErrorIs(t, err, ErrDenied)
	_, err = ch.AuthenticateSSO(context.Background(), "d@example.com")
	require.ErrorIs(t, err, ErrDenied)
	require.Equal(t, ReasonAccountDisabled, ReasonOf(err))
	m, err := ch.MethodForLogin(context.Background(), "S")
	require.NoError(t, err)
	require.Equal(t, MethodSSO, m)
	m, err = ch.MethodForLogin(context.Background(), "unknown")
	require.NoError(t, err)
	require.Equal(t, MethodLocal, m)
}

func TestSafeReturnTo(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "/",
		"/portal?x=1":       "/portal?x=1",
		"//evil.example":    "/",
		"/\\evil.example":   "/",
		"https://evil":      "/",
		"portal":            "/",
		"/a\r\nSet-Cookie:": "/",
		"/\t/evil.example":  "/",
		"/ok/\\evil":        "/",
		"/a b?c=%2F%2F":     "/a b?c=%2F%2F",
	} {
		require.Equal(t, want, SafeReturnTo(in), in)
	}
}
