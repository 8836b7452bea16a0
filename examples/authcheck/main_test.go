package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/authchain"
)

func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func writeConfig(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "auth.json")
	require.NoError(t, os.WriteFile(p, b, 0o600))
	return p
}

func TestHashThenCheck(t *testing.T) {
	code, out, _ := runCLI(t, "s3cret pass\n", "-hash")
	require.Equal(t, 0, code)
	hash := strings.TrimSpace(out)
	require.True(t, strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$"), hash)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := ln.Addr().String()
	ln.Close()
	cfg := writeConfig(t, map[string]any{
		"order": "sso>ldap>local",
		"ldap":  map[string]any{"url": "ldaps://" + down, "base_dn": "dc=corp,dc=test", "bind_dn": "cn=svc,dc=corp,dc=test", "bind_password": "x", "timeout": "2s"},
		"oidc":  map[string]any{"issuer": "https://login.example.com", "client_id": "portal", "redirect_url": "https://portal.example/cb"},
		"users": []map[string]any{
			{"login": "alice", "password_hash": hash},
			{"login": "john", "ldap_username": "jdoe", "password_hash": hash},
			{"login": "sso", "sso_identity": "sso@example.com", "password_hash": hash},
		},
	})
	cases := []struct {
		name, user, pw string
		code           int
		want           output
	}{
		{"local success", "alice", "s3cret pass\n", 0, output{User: "alice", Method: "local", Outcome: "success"}},
		{"crlf stripped", "Alice", "s3cret pass\r\n", 0, output{User: "Alice", Method: "local", Outcome: "success"}},
		{"wrong password", "alice", "nope\n", 1, output{User: "alice", Method: "local", Outcome: "denied", Reason: "invalid_credentials"}},
		{"unknown user", "ghost", "nope\n", 1, output{User: "ghost", Method: "local", Outcome: "denied", Reason: "invalid_credentials"}},
		{"empty password", "alice", "\n", 1, output{User: "alice", Method: "", Outcome: "denied", Reason: "empty_password"}},
		{"ldap down: local hash not used", "john", "s3cret pass\n", 3, output{User: "john", Method: "ldap", Outcome: "unavailable", Reason: "unreachable"}},
		{"sso user", "sso", "s3cret pass\n", 1, output{User: "sso", Method: "sso", Outcome: "sso_required", Reason: "sso_required"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, _ := runCLI(t, c.pw, "-config", cfg, "-user", c.user)
			require.Equal(t, c.code, code, out)
			require.True(t, strings.HasPrefix(out, `{"user":`), "field order")
			var got output
			require.NoError(t, json.Unmarshal([]byte(out), &got))
			errText := got.Error
			got.Error = ""
			require.Equal(t, c.want, got)
			if c.want.Outcome == "success" {
				require.Empty(t, errText)
			} else {
				require.NotEmpty(t, errText)
			}
			require.NotContains(t, out, "s3cret")
		})
	}
}

func TestConfigErrors(t *testing.T) {
	bad := writeConfig(t, map[string]any{"order": "sso>ldap>local", "ldap": map[string]any{"url": "ldap://dc1"}, "users": []any{}})
	code, out, _ := runCLI(t, "pw\n", "-config", bad, "-user", "a")
	require.Equal(t, 2, code)
	var got output
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Equal(t, "error", got.Outcome)
	require.Contains(t, got.Error, "ldap.start_tls")
	require.Contains(t, got.Error, "ldap.base_dn: is required")

	code, out, _ = runCLI(t, "pw\n", "-config", filepath.Join(t.TempDir(), "missing.json"), "-user", "a")
	require.Equal(t, 2, code)
	require.Contains(t, out, `"outcome":"error"`)

	unknown := writeConfig(t, map[string]any{"orderr": "sso>local"})
	code, _, _ = runCLI(t, "pw\n", "-config", unknown, "-user", "a")
	require.Equal(t, 2, code)

	code, _, stderr := runCLI(t, "", "-user", "a")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "usage")
	code, _, _ = runCLI(t, "", "-hash")
	require.Equal(t, 2, code, "empty password is not hashed")
	code, _, _ = runCLI(t, "x", "-hash", "-user", "a")
	require.Equal(t, 2, code)
}

func TestPasswordRoundTrip(t *testing.T) {
	code, out, _ := runCLI(t, "pw", "-hash")
	require.Equal(t, 0, code)
	ok, _, err := authchain.VerifyPassword(strings.TrimSpace(out), "pw", authchain.Argon2Params{})
	require.NoError(t, err)
	require.True(t, ok, "no trailing newline is fine too")
}

// TestOutputReadable: the JSON line keeps '>' of an order as it is (not
// \u003e), and an error without a deciding method has no empty segment.
func TestOutputReadable(t *testing.T) {
	cfg := writeConfig(t, map[string]any{"order": "sso>ldap>local", "users": []any{}})
	code, out, _ := runCLI(t, "pw\n", "-config", cfg, "-user", "a<b>")
	require.Equal(t, 2, code)
	require.Contains(t, out, `"user":"a<b>"`)
	require.Contains(t, out, `sso>ldap>local`)
	require.NotContains(t, out, `\u003e`)

	cfg = writeConfig(t, map[string]any{"order": "local", "users": []any{}})
	code, out, _ = runCLI(t, "\n", "-config", cfg, "-user", "alice")
	require.Equal(t, 1, code)
	var got output
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Equal(t, "authchain: access denied (empty_password)", got.Error)
}

// TestOrderErrorsNamed: a bad order in auth.json is reported under the
// field name "order", every problem on the one line.
func TestOrderErrorsNamed(t *testing.T) {
	for in, want := range map[string][]string{
		"local>ldap":  {`order: must end with "local"`},
		"sso>sso>foo": {`order: method "sso" appears more than once; order: unknown method "foo"`, `order: must end with "local"`},
		"":            {"order: must not be empty"},
	} {
		cfg := writeConfig(t, map[string]any{"order": in})
		code, out, _ := runCLI(t, "pw\n", "-config", cfg, "-user", "a")
		require.Equal(t, 2, code, in)
		var got output
		require.NoError(t, json.Unmarshal([]byte(out), &got), out)
		for _, w := range want {
			require.Contains(t, got.Error, w, in)
		}
		require.NotContains(t, got.Error, "\n")
	}
	cfg := writeConfig(t, map[string]any{"order": 5})
	_, out, _ := runCLI(t, "pw\n", "-config", cfg, "-user", "a")
	require.Contains(t, out, "order: must be a JSON string")
}
