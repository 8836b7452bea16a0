package sysparams

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/proxycfg"
)

// allSecretParams returns a set with every secret field of Params set to a
// distinct value, keyed by path.
func allSecretParams() (*Params, map[string]string) {
	p := validParams()
	setTestHTTPProxy(p)
	p.Proxy.SOCKS = proxycfg.SOCKSProxy{Address: "10.0.0.4", Port: 1080, Username: "s", Password: proxycfg.NewSecret("socks-pw")}
	return p, map[string]string{
		"email.password":           testSMTPPassword,
		"email.o365.client_secret": testO365Secret,
		"cloud.client_secret":      testCloudSecret,
		"proxy.http.password":      testProxyPassword,
		"proxy.socks.password":     "socks-pw",
	}
}

func secretByPath(t *testing.T, p *Params, path string) Secret {
	t.Helper()
	for _, f := range secretFields(p) {
		if f.path == path {
			return f.get()
		}
	}
	t.Fatalf("no secret field %s", path)
	return Secret{}
}

// TestDiffSecretsByValue proves that Diff reports a secret that changed (or
// was set or cleared) under its own path, and nothing for a secret holding
// the same value built from another string.
func TestDiffSecretsByValue(t *testing.T) {
	base, values := allSecretParams()
	require.ElementsMatch(t, SecretPaths(base), keysOf(values), "every secret field is covered")
	for path, v := range values {
		t.Run(path, func(t *testing.T) {
			same, err := base.Clone()
			require.NoError(t, err)
			require.NoError(t, SetField(same, path, strings.Clone(v)))
			require.True(t, Diff(base, same).Empty(), "the same value from another string is no change")
			require.True(t, secretByPath(t, base, path) == secretByPath(t, same, path))

			for _, nv := range []string{v + "x", ""} {
				changed, err := base.Clone()
				require.NoError(t, err)
				require.NoError(t, SetField(changed, path, nv))
				require.Equal(t, []string{path}, Diff(base, changed).Fields, "value %q", nv)
				require.Equal(t, []string{path}, Diff(changed, base).Fields, "value %q", nv)
			}
		})
	}
}

func keysOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestSetFieldSecretEmptyIsUnset checks that clearing a secret through
// SetField gives the zero Secret, so omitzero and == against an unset
// secret behave.
func TestSetFieldSecretEmptyIsUnset(t *testing.T) {
	p, values := allSecretParams()
	for path := range values {
		require.NoError(t, SetField(p, path, ""))
		s := secretByPath(t, p, path)
		require.False(t, s.IsSet(), path)
		require.True(t, s == Secret{}, path)
		require.True(t, s == NewSecret(""), path)
		err := SetField(p, path, "[REDACTED]")
		require.Error(t, err, path)
		require.Contains(t, err.Error(), path)
	}
	require.Equal(t, Defaults().Proxy.HTTP.Password, p.Proxy.HTTP.Password)
}

// TestStoreRoundTripEverySecret writes every secret through a file store,
// reads it back from a second store and checks the values, == and Diff.
func TestStoreRoundTripEverySecret(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	want, values := allSecretParams()
	_, err := s.Update(ctx, setAll(want))
	require.NoError(t, err)

	s2, err := OpenFile(ctx, path, FileOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { s2.Close() })
	got, err := s2.Load(ctx)
	require.NoError(t, err)
	for p, v := range values {
		require.Equal(t, v, secretByPath(t, got, p).Reveal(), p)
		require.True(t, NewSecret(strings.Clone(v)) == secretByPath(t, got, p), p)
	}
	require.Equal(t, want, got)
	require.True(t, Diff(want, got).Empty())

	// Clearing one secret stores it as unset: it is gone from the sealed
	// secrets and reads back as the zero Secret.
	_, err = s2.Update(ctx, func(p *Params) error { p.Proxy.SOCKS.Password = NewSecret(""); p.Proxy.SOCKS.Username = ""; return nil })
	require.NoError(t, err)
	var d Document
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &d))
	require.NotContains(t, d.Secrets, "proxy.socks.password")
	require.Len(t, d.Secrets, len(values)-1)
	got, err = s.Load(ctx)
	require.NoError(t, err)
	require.True(t, got.Proxy.SOCKS.Password == Secret{})
}

// TestShowJSONRoundTripRefusesPlaceholder: the redacted JSON of a set with
// secrets does not import back (a redacted value never replaces a real
// one), each secret is named, and the plain form imports with equal values.
func TestShowJSONRoundTripRefusesPlaceholder(t *testing.T) {
	p, values := allSecretParams()
	shown, err := json.Marshal(p)
	require.NoError(t, err)
	_, err = ParseParams(bytes.NewReader(shown))
	var ve *ValidationError
	require.True(t, errors.As(err, &ve), "%v", err)
	for path := range values {
		require.Contains(t, err.Error(), path+": is the redacted placeholder")
	}

	tree, err := decodeTree(shown)
	require.NoError(t, err)
	for path, v := range values {
		require.NoError(t, setJSONPath(tree, path, v))
	}
	plain, err := json.Marshal(tree)
	require.NoError(t, err)
	got, err := ParseParams(bytes.NewReader(plain))
	require.NoError(t, err)
	require.Equal(t, p, got)
	require.True(t, Diff(p, got).Empty())
}
