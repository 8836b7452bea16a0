package main

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestIntegrationSlapdCLI runs authcheck against the real slapd started by
// .ci/integration/slapd.sh (fixture described in
// authchain/ldap_integration_test.go).
func TestIntegrationSlapdCLI(t *testing.T) {
	url := os.Getenv("UCXKIT_LDAP_URL")
	if url == "" {
		t.Skip("UCXKIT_LDAP_URL is not set; .ci/integration/slapd.sh starts slapd and sets it")
	}
	cfg := writeConfig(t, map[string]any{
		"order": "sso>ldap>local",
		"ldap": map[string]any{
			"url": url, "start_tls": true, "ca_file": os.Getenv("UCXKIT_LDAP_CA"),
			"base_dn": os.Getenv("UCXKIT_LDAP_BASE_DN"), "bind_dn": os.Getenv("UCXKIT_LDAP_BIND_DN"),
			"bind_password": os.Getenv("UCXKIT_LDAP_BIND_PASSWORD"), "user_attribute": "uid",
			"required_group": "cn=portal,ou=groups," + os.Getenv("UCXKIT_LDAP_BASE_DN"),
		},
		"users": []map[string]any{
			{"login": "john", "ldap_username": "jdoe"},
			{"login": "anna", "ldap_username": "asmith"},
		},
	})
	for _, c := range []struct {
		user, pw, outcome, reason string
		code                      int
	}{
		{"john", "john-pw\n", "success", "", 0},
		{"john", "bad\n", "denied", "invalid_credentials", 1},
		{"anna", "anna-pw\n", "denied", "not_in_group", 1},
	} {
		code, out, _ := runCLI(t, c.pw, "-config", cfg, "-user", c.user)
		var got output
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		require.Equal(t, c.code, code, out)
		require.Equal(t, "ldap", got.Method)
		require.Equal(t, c.outcome, got.Outcome)
		require.Equal(t, c.reason, got.Reason)
	}
}
