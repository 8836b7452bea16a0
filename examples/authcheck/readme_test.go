package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// docCase is one command of the README: the arguments after
// "go run ./examples/authcheck", its standard input, and what the README
// says it prints.
type docCase struct {
	line      int
	text      string
	args      []string
	stdin     string
	exit      int
	stdout    *string // exact, from the ```json block that follows
	stdoutHas []string
}

// readmeCases extracts the commands of README.md's ```sh blocks:
// "echo 'PASSWORD' | go run ./examples/authcheck ARGS", followed by
// comment lines "# exit status N" and "# prints: TEXT"; a ```json block
// right after the ```sh block is the exact output of its last command.
func readmeCases(t *testing.T, readme string) []docCase {
	t.Helper()
	data, err := os.ReadFile(readme)
	require.NoError(t, err)
	lines := strings.Split(string(data), "\n")
	cmd := regexp.MustCompile(`^echo '([^']*)' \| go run \./examples/authcheck((?: \S+)*)$`)
	var cases []docCase
	for i := 0; i < len(lines); i++ {
		if lines[i] != "```sh" {
			continue
		}
		var last *docCase
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			l := lines[i]
			switch {
			case strings.HasPrefix(l, "# exit status "):
				require.NotNil(t, last, "README line %d", i+1)
				n, err := strconv.Atoi(strings.TrimPrefix(l, "# exit status "))
				require.NoError(t, err)
				last.exit = n
			case strings.HasPrefix(l, "# prints: "):
				require.NotNil(t, last, "README line %d", i+1)
				last.stdoutHas = append(last.stdoutHas, strings.TrimPrefix(l, "# prints: "))
			default:
				m := cmd.FindStringSubmatch(l)
				require.NotNil(t, m, "README line %d: not a command the test understands: %s", i+1, l)
				cases = append(cases, docCase{line: i + 1, text: l, stdin: m[1] + "\n", args: strings.Fields(m[2])})
				last = &cases[len(cases)-1]
			}
		}
		if i+2 < len(lines) && lines[i+1] == "" && lines[i+2] == "```json" && last != nil {
			var out strings.Builder
			for i += 3; lines[i] != "```"; i++ {
				out.WriteString(lines[i] + "\n")
			}
			s := out.String()
			last.stdout = &s
		}
	}
	return cases
}

// TestReadmeCommands runs every command of README.md from the repository
// root, as a user would, and compares the output with the README's.
func TestReadmeCommands(t *testing.T) {
	cases := readmeCases(t, "README.md")
	require.GreaterOrEqual(t, len(cases), 5)
	t.Chdir(filepath.Join("..", ".."))
	for _, c := range cases {
		t.Run(strconv.Itoa(c.line), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), c.args, strings.NewReader(c.stdin), &out, &errOut)
			assert.Equal(t, c.exit, code, "%s\n%s", c.text, errOut.String())
			if c.stdout != nil {
				assert.Equal(t, *c.stdout, out.String(), c.text)
			}
			for _, s := range c.stdoutHas {
				assert.Contains(t, out.String(), s, c.text)
			}
			assert.True(t, c.stdout != nil || len(c.stdoutHas) > 0, "README line %d documents no output", c.line)
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
