package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/internal/readmetest"
)

// TestReadmeCommands runs every command of README.md from the repository
// root, as a user would, and compares the output with the README's. Each
// command takes its password from "echo '...' |".
func TestReadmeCommands(t *testing.T) {
	cases := readmetest.Load(t, "README.md", "./examples/authcheck")
	require.GreaterOrEqual(t, len(cases), 5)
	t.Chdir(filepath.Join("..", ".."))
	for _, c := range cases {
		t.Run(strconv.Itoa(c.Line), func(t *testing.T) {
			require.Regexp(t, `^echo '[^']*' \| go run \./examples/authcheck((?: \S+)*)$`, c.Text, "README line %d", c.Line)
			var out, errOut bytes.Buffer
			code := run(context.Background(), c.Args, strings.NewReader(c.Stdin), &out, &errOut)
			c.Check(t, code, out.String(), errOut.String())
			assert.True(t, c.Stdout != nil || len(c.StdoutHas) > 0, "README line %d documents no output", c.Line)
		})
	}
}

// TestSampleConfig: auth.json loads, and its demo password is the
// documented one for alice and bob.
func TestSampleConfig(t *testing.T) {
	ch, closeFn, err := load("auth.json")
	require.NoError(t, err)
	closeFn()
	require.NotNil(t, ch)
	raw, err := os.ReadFile("auth.json")
	require.NoError(t, err)
	var fc fileConfig
	require.NoError(t, json.Unmarshal(raw, &fc))
	assert.Nil(t, fc.LDAP)
	assert.Nil(t, fc.UCM)
	assert.Nil(t, fc.OIDC)
	require.Len(t, fc.Users, 2)
	for _, u := range fc.Users {
		assert.True(t, strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$"), u.Login)
	}
	// The -hash of the demo password verifies like the file's hashes.
	code, out, _ := runCLI(t, "s3cret\n", "-hash")
	require.Equal(t, 0, code)
	other := writeConfig(t, map[string]any{"order": "sso>local", "users": []map[string]any{{"login": "alice", "password_hash": strings.TrimSpace(out)}}})
	code, out, _ = runCLI(t, "s3cret\n", "-config", other, "-user", "alice")
	assert.Equal(t, 0, code, out)
}

// TestReadmeFullConfig: the README's example with LDAP, UCM and SSO turned
// on is a configuration authcheck accepts, and each user goes to the
// method the README says (servers pointed at a closed local port).
func TestReadmeFullConfig(t *testing.T) {
	data, err := os.ReadFile("README.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(data), "```json\n{\n  \"order\": \"sso>ldap>ucm>local\"")
	require.True(t, ok, "README example with LDAP, UCM and SSO")
	body, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)
	snippet := "{\n  \"order\": \"sso>ldap>ucm>local\"" + body
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(snippet), &v), snippet)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	require.NoError(t, ln.Close())
	snippet = strings.NewReplacer("ldaps://dc01.corp.example", "ldaps://"+closed,
		"https://cucm.corp.example:8443/axl/", "https://"+closed+"/axl/",
		`"timeout": "10s"`, `"timeout": "2s"`).Replace(snippet)
	path := filepath.Join(t.TempDir(), "auth.json")
	require.NoError(t, os.WriteFile(path, []byte(snippet), 0o600))

	for _, c := range []struct {
		user, method, outcome string
		code                  int
	}{
		{"alice", "local", "success", 0},
		{"carol", "sso", "sso_required", 1},
		{"jdoe", "ldap", "unavailable", 3},
		{"mrossi", "ucm", "unavailable", 3},
	} {
		t.Run(c.user, func(t *testing.T) {
			code, out, errOut := runCLI(t, "s3cret\n", "-config", path, "-user", c.user)
			assert.Equal(t, c.code, code, out+errOut)
			var got output
			require.NoError(t, json.Unmarshal([]byte(out), &got))
			assert.Equal(t, c.method, got.Method)
			assert.Equal(t, c.outcome, got.Outcome)
		})
	}
}
