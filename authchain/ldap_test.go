package authchain

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/require"
)

const (
	tBase   = "dc=corp,dc=test"
	tSvcDN  = "cn=svc,ou=service,dc=corp,dc=test"
	tJohnDN = "cn=John Doe,ou=users,dc=corp,dc=test"
	tGroup  = "cn=portal,ou=groups,dc=corp,dc=test"
)

func testEntries() []testEntry {
	user := func(dn, sam, pw, diag string) testEntry {
		return testEntry{dn: dn, password: pw, bindDiag: diag, attrs: map[string][]string{
			"objectclass": {"top", "person", "user"}, "samaccountname": {sam}, "uid": {sam}}}
	}
	return []testEntry{
		{dn: tSvcDN, password: "svc-secret", attrs: map[string][]string{"objectclass": {"person"}}},
		user(tJohnDN, "jdoe", "john-pw", ""),
		user("cn=Other,ou=users,dc=corp,dc=test", "other", "other-pw", ""),
		user("cn=Locked,ou=users,dc=corp,dc=test", "locked", "locked-pw",
			"80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data 775, v3839"),
		user("cn=Dup1,ou=users,dc=corp,dc=test", "dup", "x", ""),
		user("cn=Dup2,ou=users,dc=corp,dc=test", "dup", "x", ""),
		{dn: tGroup, attrs: map[string][]string{"objectclass": {"groupOfNames"}, "member": {tJohnDN}}},
	}
}

func testLDAPConfig(s *testLDAP, pki *testPKI) LDAPConfig {
	return LDAPConfig{
		URL: s.URL(), StartTLS: !s.ldaps, RootCAs: pki.pool,
		BindDN: tSvcDN, BindPassword: NewSecret("svc-secret"), BaseDN: tBase,
	}
}

func newLDAPAuth(t *testing.T, cfg LDAPConfig) *LDAPAuthenticator {
	t.Helper()
	a, err := NewLDAPAuthenticator(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	return a
}

func TestLDAPAuthenticate(t *testing.T) {
	pki := newTestPKI(t)
	for _, ldaps := range []bool{false, true} {
		name := "starttls"
		if ldaps {
			name = "ldaps"
		}
		t.Run(name, func(t *testing.T) {
			srv := newTestLDAP(t, pki, ldaps, testEntries()...)
			cfg := testLDAPConfig(srv, pki)
			cfg.RequiredGroup = tGroup
			a := newLDAPAuth(t, cfg)
			ctx := context.Background()

			require.NoError(t, a.Authenticate(ctx, User{LDAPUsername: "jdoe"}, "john-pw"))
			require.Equal(t, []string{tSvcDN, tJohnDN}, srv.Binds(), "service bind on the search connection, user bind on the bind connection")
			require.Equal(t, []string{"(&(|(objectClass=user)(objectClass=person))(sAMAccountName=jdoe))", "(|(member=" + tJohnDN + ")(uniqueMember=" + tJohnDN + "))"}, srv.Filters())

			cases := []struct {
				name, user, pw string
				reason         Reason
			}{
				{"wrong password", "jdoe", "nope", ReasonInvalidCredentials},
				{"unknown user", "ghost", "x", ReasonInvalidCredentials},
				{"filter injection", "*)(uid=*", "john-pw", ReasonInvalidCredentials},
				{"wildcard", "*", "john-pw", ReasonInvalidCredentials},
				{"nul", "jdoe\x00", "john-pw", ReasonInvalidCredentials},
				{"locked (AD data 775)", "locked", "locked-pw", ReasonAccountLocked},
				{"not in required group", "other", "other-pw", ReasonNotInGroup},
				{"ambiguous", "dup", "x", ReasonAmbiguousUser},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					err := a.Authenticate(ctx, User{LDAPUsername: c.user}, c.pw)
					require.ErrorIs(t, err, ErrDenied)
					require.Equal(t, c.reason, ReasonOf(err), "%v", err)
					require.NotContains(t, err.Error(), c.pw)
				})
			}
			for _, f := range srv.Filters() {
				require.NotContains(t, f, "(uid=*)", "the injected filter never reaches the server")
			}
			require.Contains(t, srv.Filters(), `(&(|(objectClass=user)(objectClass=person))(sAMAccountName=\2a\29\28uid=\2a))`)
			require.Equal(t, 2, srv.Conns(), "one search and one bind connection serve sequential logins")
			require.Equal(t, []string{tSvcDN, tJohnDN}, srv.Binds()[:2], "the search connection is never re-bound")
			require.NotContains(t, srv.Binds()[2:], tSvcDN)
		})
	}
}

func TestLDAPEmptyPasswordSendsNothing(t *testing.T) {
	pki := newTestPKI(t)
	srv := newTestLDAP(t, pki, false, testEntries()...)
	a := newLDAPAuth(t, testLDAPConfig(srv, pki))
	err := a.Authenticate(context.Background(), User{LDAPUsername: "jdoe"}, "")
	require.ErrorIs(t, err, ErrDenied)
	require.Equal(t, ReasonEmptyPassword, ReasonOf(err))
	require.Empty(t, srv.Binds(), "no bind sent")
	require.Zero(t, srv.Conns(), "no connection made")
}

func TestLDAPUnavailable(t *testing.T) {
	pki := newTestPKI(t)
	srv := newTestLDAP(t, pki, false, testEntries()...)
	ctx := context.Background()

	t.Run("down", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		ln.Close()
		cfg := testLDAPConfig(srv, pki)
		cfg.URL = "ldap://" + addr
		err = newLDAPAuth(t, cfg).Authenticate(ctx, User{LDAPUsername: "jdoe"}, "john-pw")
		require.ErrorIs(t, err, ErrUnavailable)
		require.Equal(t, ReasonUnreachable, ReasonOf(err))
	})
	t.Run("unknown CA", func(t *testing.T) {
		cfg := testLDAPConfig(srv, pki)
		cfg.RootCAs = newTestPKI(t).pool
		err := newLDAPAuth(t, cfg).Authenticate(ctx, User{LDAPUsername: "jdoe"}, "john-pw")
		require.ErrorIs(t, err, ErrUnavailable)
		require.Equal(t, ReasonTLS, ReasonOf(err), "%v", err)
	})
	t.Run("wrong server name", func(t *testing.T) {
		lsrv := newTestLDAP(t, pki, true, testEntries()...)
		cfg := testLDAPConfig(lsrv, pki)
		cfg.ServerName = "other.test"
		err := newLDAPAuth(t, cfg).Authenticate(ctx, User{LDAPUsername: "jdoe"}, "john-pw")
		require.ErrorIs(t, err, ErrUnavailable)
		require.Equal(t, ReasonTLS, ReasonOf(err), "%v", err)
		cfg.InsecureSkipVerify = true
		require.NoError(t, newLDAPAuth(t, cfg).Authenticate(ctx, User{LDAPUsername: "jdoe"}, "john-pw"))
	})
	t.Run("service account rejected", func(t *testing.T) {
		cfg := testLDAPConfig(srv, pki)
		cfg.BindPassword = NewSecret("wrong")
		err := newLDAPAuth(t, cfg).Authenticate(ctx, User{LDAPUsername: "jdoe"}, "john-pw")
		require.ErrorIs(t, err, ErrUnavailable)
		require.NotErrorIs(t, err, ErrDenied)
		require.Equal(t, ReasonConfig, ReasonOf(err))
	})
	t.Run("timeout", func(t *testing.T) {
		slow := newTestLDAP(t, pki, false, testEntries()...)
		slow.bindDelay = 3 * time.Second
		cfg := testLDAPConfig(slow, pki)
		cfg.Timeout = Duration(100 * time.Millisecond)
		err := newLDAPAuth(t, cfg).Authenticate(ctx, User{LDAPUsername: "jdoe"}, "john-pw")
		require.ErrorIs(t, err, ErrUnavailable)
		require.Equal(t, ReasonTimeout, ReasonOf(err), "%v", err)
	})
	t.Run("canceled context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err := newLDAPAuth(t, testLDAPConfig(srv, pki)).Authenticate(cctx, User{LDAPUsername: "jdoe"}, "john-pw")
		require.ErrorIs(t, err, ErrUnavailable)
	})
}

func TestChainLDAPDownDoesNotTryLocal(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	a := newLDAPAuth(t, LDAPConfig{URL: "ldaps://" + addr, BaseDN: tBase, BindDN: tSvcDN, BindPassword: NewSecret("x")})
	local := &countingAuth{}
	dir, err := NewMemoryDirectory(User{Login: "john", LDAPUsername: "jdoe", PasswordHash: mustHash(t, "local-pw")})
	require.NoError(t, err)
	c, err := NewChain(ChainConfig{Order: OrderSSOLDAPLocal, Directory: dir, Local: local, LDAP: a})
	require.NoError(t, err)
	_, err = c.Authenticate(context.Background(), "john", "local-pw")
	require.ErrorIs(t, err, ErrUnavailable)
	require.Zero(t, local.calls.Load(), "local is never tried when LDAP is down")
}

func TestLDAPPool(t *testing.T) {
	pki := newTestPKI(t)
	ctx := context.Background()
	for _, c := range []struct {
		pool  int
		conns int
	}{{0, 2}, {-1, 5}} {
		srv := newTestLDAP(t, pki, false, testEntries()...)
		cfg := testLDAPConfig(srv, pki)
		cfg.PoolSize = c.pool
		a := newLDAPAuth(t, cfg)
		for i := 0; i < 5; i++ {
			require.NoError(t, a.Authenticate(ctx, User{LDAPUsername: "jdoe"}, "john-pw"))
		}
		require.Equal(t, c.conns, srv.Conns(), "pool_size %d", c.pool)
	}
}

func TestLDAPEntryWithoutDNIsNotBound(t *testing.T) {
	pki := newTestPKI(t)
	entries := append(testEntries(), testEntry{dn: "", anyScope: true, attrs: map[string][]string{"objectclass": {"user"}, "samaccountname": {"nodn"}}})
	srv := newTestLDAP(t, pki, false, entries...)
	a := newLDAPAuth(t, testLDAPConfig(srv, pki))
	err := a.Authenticate(context.Background(), User{LDAPUsername: "nodn"}, "pw")
	require.ErrorIs(t, err, ErrUnavailable)
	require.Equal(t, []string{tSvcDN}, srv.Binds(), "no anonymous bind with the password")
}

func TestLDAPStalePooledConnection(t *testing.T) {
	pki := newTestPKI(t)
	srv := newTestLDAP(t, pki, false, testEntries()...)
	a := newLDAPAuth(t, testLDAPConfig(srv, pki))
	ctx := context.Background()
	require.NoError(t, a.Authenticate(ctx, User{LDAPUsername: "jdoe"}, "john-pw"))
	srv.dropAll()
	require.NoError(t, a.Authenticate(ctx, User{LDAPUsername: "jdoe"}, "john-pw"), "connections closed by the server are replaced")
	require.Equal(t, 4, srv.Conns())
}

func TestADReasons(t *testing.T) {
	for code, want := range map[string]Reason{
		"525": ReasonInvalidCredentials, "52e": ReasonInvalidCredentials, "530": ReasonLogonRestricted,
		"531": ReasonLogonRestricted, "532": ReasonPasswordExpired, "533": ReasonAccountDisabled,
		"701": ReasonAccountExpired, "773": ReasonMustChangePassword, "775": ReasonAccountLocked,
	} {
		err := ldap.NewError(49, errors.New("80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data "+code+", v4563"))
		require.Equal(t, want, adReason(err), code)
	}
	require.Equal(t, ReasonInvalidCredentials, adReason(ldap.NewError(49, errors.New("invalid credentials"))))
}

func TestLDAPConfigValidate(t *testing.T) {
	good := LDAPConfig{URL: "ldaps://dc1.corp.test", BaseDN: tBase, BindDN: tSvcDN, BindPassword: NewSecret("x")}
	require.NoError(t, good.Validate())
	cases := map[string]struct {
		mod  func(c *LDAPConfig)
		want string
	}{
		"no url":           {func(c *LDAPConfig) { c.URL = "" }, "url: is required"},
		"plain ldap":       {func(c *LDAPConfig) { c.URL = "ldap://dc1" }, "start_tls: must be true with ldap://"},
		"ldaps+starttls":   {func(c *LDAPConfig) { c.StartTLS = true }, "start_tls: must be false with ldaps://"},
		"scheme":           {func(c *LDAPConfig) { c.URL = "http://dc1" }, `url: scheme must be ldaps or ldap, got "http"`},
		"port":             {func(c *LDAPConfig) { c.URL = "ldaps://dc1:70000" }, "url: port must be 1-65535"},
		"path":             {func(c *LDAPConfig) { c.URL = "ldaps://dc1/dc=x" }, "url: must not carry a path"},
		"no base":          {func(c *LDAPConfig) { c.BaseDN = "" }, "base_dn: is required"},
		"bad base":         {func(c *LDAPConfig) { c.BaseDN = "nonsense" }, "base_dn: is not a valid DN"},
		"no bind password": {func(c *LDAPConfig) { c.BindPassword = NewSecret("") }, "bind_password: is required with bind_dn"},
		"attr":             {func(c *LDAPConfig) { c.UserAttribute = "uid)(x" }, "user_attribute"},
		"filter":           {func(c *LDAPConfig) { c.UserFilter = "objectClass=user" }, "user_filter"},
		"group":            {func(c *LDAPConfig) { c.RequiredGroup = "junk" }, "required_group"},
		"pool":             {func(c *LDAPConfig) { c.PoolSize = 100 }, "pool_size: must be -1"},
		"timeout":          {func(c *LDAPConfig) { c.Timeout = Duration(time.Hour) }, "timeout"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := good
			c.mod(&cfg)
			require.ErrorContains(t, cfg.Validate(), c.want)
			_, err := NewLDAPAuthenticator(cfg)
			require.Error(t, err)
		})
	}
	dir := t.TempDir()
	cfg := good
	cfg.CAFile = filepath.Join(dir, "missing.pem")
	_, err := NewLDAPAuthenticator(cfg)
	require.ErrorContains(t, err, "ca_file")
	require.NoError(t, os.WriteFile(cfg.CAFile, []byte("junk"), 0o600))
	_, err = NewLDAPAuthenticator(cfg)
	require.ErrorContains(t, err, "no PEM certificate")
	pki := newTestPKI(t)
	require.NoError(t, os.WriteFile(cfg.CAFile, pki.caPEM, 0o600))
	_, err = NewLDAPAuthenticator(cfg)
	require.NoError(t, err)
}
