package authchain

// Tests against a real OpenLDAP slapd started by .ci/integration/slapd.sh,
// which sets UCXKIT_LDAP_* and loads this fixture (base dc=ucxkit,dc=test):
//
//	cn=svc,ou=service      service account, password svc-secret
//	uid=jdoe,ou=users      password john-pw, member of cn=portal,ou=groups
//	uid=asmith,ou=users    password anna-pw, not in the group
//	uid=nopw,ou=users      no userPassword
//
// slapd requires TLS for simple binds (security simple_bind=1).

import (
	"context"
	"net"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

type slapdEnv struct {
	url, ldapsURL, ca, base, bindDN, bindPW string
}

func slapd(t testing.TB) slapdEnv {
	t.Helper()
	e := slapdEnv{
		url: os.Getenv("UCXKIT_LDAP_URL"), ldapsURL: os.Getenv("UCXKIT_LDAPS_URL"), ca: os.Getenv("UCXKIT_LDAP_CA"),
		base: os.Getenv("UCXKIT_LDAP_BASE_DN"), bindDN: os.Getenv("UCXKIT_LDAP_BIND_DN"), bindPW: os.Getenv("UCXKIT_LDAP_BIND_PASSWORD"),
	}
	if e.url == "" {
		t.Skip("UCXKIT_LDAP_URL is not set; .ci/integration/slapd.sh starts slapd and sets it")
	}
	return e
}

func (e slapdEnv) config(ldaps bool) LDAPConfig {
	c := LDAPConfig{URL: e.url, StartTLS: true, CAFile: e.ca, BaseDN: e.base, BindDN: e.bindDN,
		BindPassword: NewSecret(e.bindPW), UserAttribute: "uid", UserFilter: "(objectClass=inetOrgPerson)"}
	if ldaps {
		c.URL, c.StartTLS = e.ldapsURL, false
	}
	return c
}

func TestIntegrationSlapd(t *testing.T) {
	e := slapd(t)
	ctx := context.Background()
	for _, ldaps := range []bool{false, true} {
		name := "starttls"
		if ldaps {
			name = "ldaps"
		}
		t.Run(name, func(t *testing.T) {
			cfg := e.config(ldaps)
			cfg.RequiredGroup = "cn=portal,ou=groups," + e.base
			a, err := NewLDAPAuthenticator(cfg)
			require.NoError(t, err)
			defer a.Close()
			require.NoError(t, a.Authenticate(ctx, User{LDAPUsername: "jdoe"}, "john-pw"))
			require.NoError(t, a.Authenticate(ctx, User{LDAPUsername: "JDOE"}, "john-pw"), "uid matching is case-insensitive in slapd")
			for _, c := range []struct {
				name, user, pw string
				reason         Reason
			}{
				{"wrong password", "jdoe", "John-pw", ReasonInvalidCredentials},
				{"unknown user", "ghost", "john-pw", ReasonInvalidCredentials},
				{"filter injection", "*)(uid=*", "john-pw", ReasonInvalidCredentials},
				{"wildcard", "*", "john-pw", ReasonInvalidCredentials},
				{"no userPassword", "nopw", "anything", ReasonInvalidCredentials},
				{"empty password", "jdoe", "", ReasonEmptyPassword},
				{"not in group", "asmith", "anna-pw", ReasonNotInGroup},
			} {
				t.Run(c.name, func(t *testing.T) {
					err := a.Authenticate(ctx, User{LDAPUsername: c.user}, c.pw)
					require.ErrorIs(t, err, ErrDenied)
					require.Equal(t, c.reason, ReasonOf(err), "%v", err)
				})
			}
			// The pool's connection survives denials and keeps working.
			require.NoError(t, a.Authenticate(ctx, User{LDAPUsername: "jdoe"}, "john-pw"))
		})
	}
}

func TestIntegrationSlapdFailures(t *testing.T) {
	e := slapd(t)
	ctx := context.Background()
	u := User{LDAPUsername: "jdoe"}
	try := func(cfg LDAPConfig) error {
		a, err := NewLDAPAuthenticator(cfg)
		require.NoError(t, err)
		defer a.Close()
		return a.Authenticate(ctx, u, "john-pw")
	}
	t.Run("system roots do not trust the test CA", func(t *testing.T) {
		cfg := e.config(true)
		cfg.CAFile = ""
		err := try(cfg)
		require.ErrorIs(t, err, ErrUnavailable)
		require.Equal(t, ReasonTLS, ReasonOf(err), "%v", err)
	})
	t.Run("starttls with the wrong server name", func(t *testing.T) {
		cfg := e.config(false)
		cfg.ServerName = "wrong.example"
		err := try(cfg)
		require.ErrorIs(t, err, ErrUnavailable)
		require.Equal(t, ReasonTLS, ReasonOf(err), "%v", err)
	})
	t.Run("service account rejected", func(t *testing.T) {
		cfg := e.config(false)
		cfg.BindPassword = NewSecret("wrong")
		err := try(cfg)
		require.ErrorIs(t, err, ErrUnavailable)
		require.Equal(t, ReasonConfig, ReasonOf(err))
	})
	t.Run("server down, local not tried", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		ln.Close()
		cfg := e.config(true)
		cfg.URL = "ldaps://" + addr
		a, err := NewLDAPAuthenticator(cfg)
		require.NoError(t, err)
		defer a.Close()
		local := &countingAuth{}
		dir, err := NewMemoryDirectory(User{Login: "john", LDAPUsername: "jdoe", PasswordHash: mustHash(t, "john-pw")})
		require.NoError(t, err)
		c, err := NewChain(ChainConfig{Order: OrderSSOLDAPLocal, Directory: dir, Local: local, LDAP: a})
		require.NoError(t, err)
		_, err = c.Authenticate(ctx, "john", "john-pw")
		require.ErrorIs(t, err, ErrUnavailable)
		require.Equal(t, ReasonUnreachable, ReasonOf(err))
		require.Zero(t, local.calls.Load())
	})
	t.Run("chain end to end", func(t *testing.T) {
		a, err := NewLDAPAuthenticator(e.config(false))
		require.NoError(t, err)
		defer a.Close()
		dir, err := NewMemoryDirectory(User{Login: "John", LDAPUsername: "jdoe", PasswordHash: mustHash(t, "local-pw")})
		require.NoError(t, err)
		c, err := NewChain(ChainConfig{Order: OrderSSOLDAPLocal, Directory: dir, LDAP: a})
		require.NoError(t, err)
		res, err := c.Authenticate(ctx, " john ", "john-pw")
		require.NoError(t, err)
		require.Equal(t, MethodLDAP, res.Method)
		_, err = c.Authenticate(ctx, "john", "local-pw")
		require.ErrorIs(t, err, ErrDenied, "the local hash never works for an LDAP user")
	})
}

// BenchmarkIntegrationLDAPPool and BenchmarkIntegrationLDAPConnectPerAuth
// compare pooled connections with a TCP connect + StartTLS per login.
func BenchmarkIntegrationLDAPPool(b *testing.B) { benchSlapd(b, 0) }

// BenchmarkIntegrationLDAPConnectPerAuth dials for every authentication.
func BenchmarkIntegrationLDAPConnectPerAuth(b *testing.B) { benchSlapd(b, -1) }

func benchSlapd(b *testing.B, pool int) {
	e := slapd(b)
	cfg := e.config(false)
	cfg.PoolSize = pool
	a, err := NewLDAPAuthenticator(cfg)
	require.NoError(b, err)
	defer a.Close()
	ctx := context.Background()
	u := User{LDAPUsername: "jdoe"}
	require.NoError(b, a.Authenticate(ctx, u, "john-pw"))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := a.Authenticate(ctx, u, "john-pw"); err != nil {
			b.Fatal(err)
		}
	}
}
