package sysparams

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/numplan"
	"github.com/ucxkit/ucxkit/proxycfg"
)

// Every error names its package once: no "corrupt: sysparams: json: ...".
func TestErrorsSayTheirPackageOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(s), 0o600))
		return p
	}
	open := func(doc string) error {
		_, err := OpenFile(ctx, write("p.json", doc), FileOptions{})
		return err
	}
	tests := []struct {
		name string
		err  func() error
		want string
		is   error
	}{
		{"unknown field in the stored parameters", func() error {
			return open(`{"schema":"ucxkit.sysparams","schema_version":1,"params":{"email":{"nope":1}}}`)
		}, `sysparams: parameter file is corrupt: email: unknown field "nope" (`, ErrCorrupt},
		{"wrong type in the stored parameters", func() error {
			return open(`{"schema":"ucxkit.sysparams","schema_version":1,"params":{"email":{"port":"x"}}}`)
		}, "sysparams: parameter file is corrupt: email.port: must be a JSON number, got string (", ErrCorrupt},
		{"redacted placeholder in the stored parameters", func() error {
			return open(`{"schema":"ucxkit.sysparams","schema_version":1,"params":{"email":{"password":"[REDACTED]"}}}`)
		}, `sysparams: parameter file is corrupt: email.password: is the redacted placeholder`, ErrCorrupt},
		{"wrong type in the document", func() error {
			return open(`{"schema":"ucxkit.sysparams","schema_version":"1","params":{}}`)
		}, "sysparams: parameter file is corrupt: schema_version: must be a JSON number, got string (", ErrCorrupt},
		{"key file missing", func() error {
			return open(`{"schema":"ucxkit.sysparams","schema_version":1,"params":{},"secrets":{"email.password":"v1:k1:abc"}}`)
		}, "sysparams: key file missing for encrypted secrets: the parameter file holds 1 sealed secret (", ErrKeyMissing},
		{"bad key in the key file", func() error {
			f := write("q.json", `{"schema":"ucxkit.sysparams","schema_version":1,"params":{},"secrets":{"email.password":"v1:k1:abc"}}`)
			write("q.json.key", `{"schema":"ucxkit.sysparams.keys","primary":"k1","keys":[{"id":"k1","key":"AAAA"}]}`)
			_, err := OpenFile(ctx, f, FileOptions{})
			return err
		}, "sysparams: parameter file is corrupt: key must be 32 bytes, got 3 (", ErrCorrupt},
		{"unknown key", func() error {
			k, err := NewKeyring("k1", make([]byte, KeySize))
			require.NoError(t, err)
			_, err = k.Open("email.password", "v1:k9:abc")
			return err
		}, `sysparams: secret sealed with an unknown key: email.password: key "k9"`, ErrKeyUnknown},
		{"json.Unmarshal", func() error {
			var p Params
			return json.Unmarshal([]byte(`{"email":{"x":1},"cloud":{"client_id":2}}`), &p)
		}, `sysparams: email: unknown field "x"; cloud.client_id: must be a JSON string, got number`, nil},
		{"numbering plan", func() error {
			p := Defaults()
			p.NumberingPlan.UseDefaults = false
			p.NumberingPlan.InternalPatterns = []string{"[["}
			_, err := p.Normalizer(numplan.Options{})
			return err
		}, "sysparams: numbering_plan: invalid configuration:\ninternal_patterns[0]: ", nil},
		{"proxy", func() error {
			p := Defaults()
			p.Proxy.HTTP = proxycfg.HTTPProxy{Address: "a b"}
			_, err := p.HTTPClient()
			return err
		}, "sysparams: proxy: http.address: must not contain whitespace", nil},
		{"certificate", func() error {
			p := Defaults()
			p.Certificate.Folder = write("afile", "x")
			_, _, err := p.EnsureCertificate(dir, "host", nil)
			return err
		}, "sysparams: certificate: mkdir ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err()
			require.Error(t, err)
			msg := err.Error()
			require.True(t, strings.HasPrefix(msg, tt.want), "got %q", msg)
			for _, p := range pkgPrefixes {
				n := strings.Count(msg, p)
				if p == "sysparams: " {
					require.Equal(t, 1, n, "%q", msg)
				} else {
					require.Zero(t, n, "%q", msg)
				}
			}
			if tt.is != nil {
				require.ErrorIs(t, err, tt.is)
			}
		})
	}
}

func TestWrapKeepsTheChain(t *testing.T) {
	p := Defaults()
	p.Proxy.HTTP = proxycfg.HTTPProxy{Address: "a b"}
	_, err := p.ProxyDialer()
	var fe *proxycfg.FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "proxy: http.address: must not contain whitespace", strings.Split(strings.TrimPrefix(err.Error(), "sysparams: "), "\n")[0])
}

// Decoding a Params from something that is not an object reports it (it
// once recursed until the stack overflowed).
func TestParamsUnmarshalNotAnObject(t *testing.T) {
	for _, doc := range []string{`0`, `"x"`, `[]`, `true`} {
		var p Params
		err := json.Unmarshal([]byte(doc), &p)
		require.Error(t, err, doc)
		require.Equal(t, 1, strings.Count(err.Error(), "sysparams: "))
	}
	var p Params
	require.NoError(t, json.Unmarshal([]byte(`null`), &p))
}
