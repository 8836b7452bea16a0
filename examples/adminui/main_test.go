package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/authchain"
)

const testHost = "ucx-example"

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		ok   bool
		err  string
	}{
		{name: "defaults", args: nil, ok: true},
		{name: "ipv6 loopback", args: []string{"-addr", "[::1]:0"}, ok: true},
		{name: "any address", args: []string{"-addr", "0.0.0.0:8443"}, code: 2, err: "must be a loopback address"},
		{name: "lan address", args: []string{"-addr", "192.168.1.5:8443"}, code: 2, err: "must be a loopback address"},
		{name: "host name", args: []string{"-addr", "localhost:8443"}, code: 2, err: "must be a loopback IP and port"},
		{name: "no port", args: []string{"-addr", "127.0.0.1"}, code: 2, err: "must be a loopback IP and port"},
		{name: "empty user", args: []string{"-user", ""}, code: 2, err: "-user must not be empty"},
		{name: "extra argument", args: []string{"serve"}, code: 2, err: `unexpected argument "serve"`},
		{name: "unknown flag", args: []string{"-port", "1"}, code: 2, err: "flag provided but not defined"},
		{name: "help", args: []string{"-h"}, code: 0, err: "-password-env"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			_, code, ok := parseFlags(tc.args, &stderr)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.code, code)
			assert.Contains(t, stderr.String(), tc.err)
		})
	}
}

// TestRun starts and stops the program: with an ended context it prints
// its facts, serves, and exits 0.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"-addr", "127.0.0.1:0", "-dir", dir, "-hostname", testHost, "-password-env", "UCXKIT_TEST_UNSET_PASSWORD"}, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	out := stdout.String()
	assert.Contains(t, out, "parameters: "+filepath.Join(dir, "params.json"))
	assert.Contains(t, out, "certificate: "+filepath.Join(dir, "certs", "cert.pem")+" (valid, sha256 ")
	assert.Contains(t, out, "login: user \"admin\", password generated in "+filepath.Join(dir, "admin-password.txt"))
	assert.Regexp(t, `serving https://127\.0\.0\.1:\d+/admin/params/`, out)
	assert.Contains(t, out, "stopped")
	st, err := os.Stat(filepath.Join(dir, "admin-password.txt"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	pw, _ := os.ReadFile(filepath.Join(dir, "admin-password.txt"))
	assert.NotContains(t, out, strings.TrimSpace(string(pw)), "the password is never printed")

	// A second run reuses the password file.
	stdout.Reset()
	require.Equal(t, 0, run(ctx, []string{"-addr", "127.0.0.1:0", "-dir", dir, "-hostname", testHost, "-password-env", "UCXKIT_TEST_UNSET_PASSWORD"}, &stdout, &stderr))
	assert.Contains(t, stdout.String(), "password in "+filepath.Join(dir, "admin-password.txt"))
}

func TestLoginAndAdminRole(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hash, err := authchain.HashPassword("bob-pw", authchain.Argon2Params{})
	require.NoError(t, err)
	env := map[string]string{"ADMIN_PW": "s3cret-admin"}
	cfg := config{addr: "127.0.0.1:0", dir: dir, user: "admin", passwordEnv: "ADMIN_PW", hostname: testHost}
	var out bytes.Buffer
	a, err := newApp(ctx, cfg, func(k string) string { return env[k] }, &out, authchain.User{Login: "bob", PasswordHash: hash, Roles: []string{"user"}})
	require.NoError(t, err)
	defer a.Close()
	assert.Contains(t, out.String(), "password from $ADMIN_PW")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()

	// Trust exactly the certgen certificate, verified for the host name.
	pemBytes, err := os.ReadFile(filepath.Join(dir, "certs", "cert.pem"))
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pemBytes))
	base := "https://" + ln.Addr().String()
	newClient := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{
			Jar:           jar,
			Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: testHost}},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	get := func(c *http.Client, path string) (*http.Response, string) {
		res, err := c.Get(base + path)
		require.NoError(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	login := func(c *http.Client, user, pw string) *http.Response {
		res, err := c.PostForm(base+"/login", url.Values{"login": {user}, "password": {pw}, "return_to": {"/admin/params/"}})
		require.NoError(t, err)
		res.Body.Close()
		return res
	}

	c := newClient()
	res, _ := get(c, "/admin/params/")
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/login?return_to=/admin/params/", res.Header.Get("Location"))
	res, body := get(c, "/login")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `<label for="password">Password</label>`)
	res, _ = get(c, "/static/style.css")
	assert.Equal(t, http.StatusOK, res.StatusCode)

	assert.Equal(t, http.StatusUnauthorized, login(c, "admin", "wrong").StatusCode)
	res = login(c, "admin", "s3cret-admin")
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/admin/params/", res.Header.Get("Location"))
	res, body = get(c, "/admin/params/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "Set&nbsp;&raquo;")
	assert.Equal(t, "DENY", res.Header.Get("X-Frame-Options"))
	res, _ = get(c, "/admin/params/certificate/cert.pem")
	assert.Equal(t, http.StatusOK, res.StatusCode)

	// A user without the admin role is refused.
	bob := newClient()
	require.Equal(t, http.StatusSeeOther, login(bob, "bob", "bob-pw").StatusCode)
	res, body = get(bob, "/admin/params/")
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
	assert.NotContains(t, body, "Set&nbsp;")

	// Repeated wrong passwords throttle that login (even the right
	// password then waits), not the others; the window passing lifts it.
	clock := time.Now()
	a.limit.now = func() time.Time { return clock }
	for range loginMaxFailures {
		assert.Equal(t, http.StatusUnauthorized, login(newClient(), "ADMIN", "guess").StatusCode)
	}
	res = login(newClient(), "admin", "s3cret-admin")
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	assert.Equal(t, "300", res.Header.Get("Retry-After"))
	assert.Equal(t, http.StatusSeeOther, login(newClient(), "bob", "bob-pw").StatusCode)
	clock = clock.Add(loginWindow)
	assert.Equal(t, http.StatusSeeOther, login(newClient(), "admin", "s3cret-admin").StatusCode)

	// A forged cross-site login post is refused.
	req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader("login=admin&password=s3cret-admin"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err = newClient().Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
}
