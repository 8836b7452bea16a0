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
)

// plainValid is a hand-written plain document holding every kind of
// secret in plain text.
const plainValid = `{
  "telephony": {"system_name": "HQ", "pbx_address": "192.168.4.6"},
  "email": {"enabled": true, "from": "fax-ha@example.com", "server": "mail.example.com",
            "use_auth": true, "username": "fax-admin@example.com", "password": "smtp-Pa55:w/o@rd",
            "o365": {"client_secret": "uJO9k3_x03-d-7cf~TptM9YDAEV84QJNv6"}},
  "cloud": {"client_id": "clientId", "client_secret": "cloud-s3cret-value"}
}`

func TestParseParamsPlainDocument(t *testing.T) {
	p, err := ParseParams(strings.NewReader(plainValid))
	require.NoError(t, err)
	require.Equal(t, validParams(), p, "missing fields keep their defaults, secrets are read in plain text")

	// The same result as decoding with encoding/json.
	var q Params
	require.NoError(t, json.Unmarshal([]byte(plainValid), &q))
	require.Equal(t, &q, p)
}

func TestParseParamsExampleFile(t *testing.T) {
	f, err := os.Open("../examples/ucxparams/params.example.json")
	require.NoError(t, err)
	defer f.Close()
	p, err := ParseParams(f)
	require.NoError(t, err)
	require.Equal(t, NewSecret("change-me-smtp-password"), p.Email.Password)
	require.Equal(t, NewSecret("change-me-proxy-password"), p.Proxy.HTTP.Password)
}

func TestParseParamsReportsEveryProblem(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"empty", "  ", []string{"the document is empty"}},
		{"not an object", `[1]`, []string{"not a JSON object"}},
		{"null", `null`, []string{"not a JSON object"}},
		{"syntax", "{\n \"telephony\": }", []string{"not a JSON object: line 2, column 15: invalid character '}' looking for beginning of value"}},
		{"trailing", `{} {}`, []string{"trailing data after the parameter object"}},
		{"stored document", `{"schema": "ucxkit.sysparams", "params": {}}`, []string{`this is a stored parameter document (it has a "schema" field)`}},
		{"many", `{
			"telephony": {"system_name": 3},
			"email": {"port": "x", "nope": 1, "password": "[REDACTED]", "o365": {"mode": "zz", "extra": true}},
			"foo": {},
			"authentication": {"inactivity_timeout": "8x"},
			"web_server": {"base_url": "http://a"}}`, []string{
			"telephony.system_name: must be a JSON string, got number",
			"email.port: must be a JSON number, got string",
			`email.password: is the redacted placeholder "[REDACTED]", not a value`,
			`email.o365: unknown field "extra"`,
			`email: unknown field "nope"`,
			`authentication.inactivity_timeout: invalid duration "8x"`,
			`foo: unknown section`,
			"telephony.pbx_address: is mandatory",
			`email.o365.mode: must be graph, smtp or ews, got "zz"`,
			`web_server.base_url: must start with https://, got "http://a"`,
		}},
		{"rules only", `{"telephony": {"system_name": "HQ", "pbx_address": "pbx"}, "email": {"port": 70000}}`,
			[]string{"email.port: must be 1-65535, got 70000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseParams(strings.NewReader(tt.doc))
			require.Nil(t, p)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			probs := ve.Problems()
			require.Len(t, probs, len(tt.want), "%v", err)
			for i, w := range tt.want {
				require.Contains(t, probs[i].Error(), w)
				require.NotContains(t, probs[i].Error(), "json:")
				require.NotContains(t, probs[i].Error(), "sysparams:")
			}
		})
	}
}

func TestImportSealsSecretsAndSaves(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	var got []Change
	s.Subscribe(func(c Change) { got = append(got, c) })
	c, err := Import(ctx, s, strings.NewReader(plainValid))
	require.NoError(t, err)
	require.Equal(t, int64(1), c.Revision)
	require.Len(t, got, 1)

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, sec := range []string{testSMTPPassword, testO365Secret, testCloudSecret} {
		require.NotContains(t, string(raw), sec)
	}
	p, err := s.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, validParams(), p)

	// The same document again changes nothing.
	c, err = Import(ctx, s, strings.NewReader(plainValid))
	require.NoError(t, err)
	require.True(t, c.Empty())
	require.Equal(t, int64(1), c.Revision)

	// Import replaces the whole set: a field left out takes its default.
	c, err = Import(ctx, s, strings.NewReader(`{"telephony": {"system_name": "HQ", "pbx_address": "192.168.4.6"}}`))
	require.NoError(t, err)
	require.Equal(t, int64(2), c.Revision)
	p, err = s.Load(ctx)
	require.NoError(t, err)
	require.False(t, p.Email.Enabled)
	require.False(t, p.Cloud.ClientSecret.IsSet())
}

func TestImportRejectedLeavesFileUntouched(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	_, err := Import(ctx, s, strings.NewReader(plainValid))
	require.NoError(t, err)
	before, err := os.ReadFile(path)
	require.NoError(t, err)
	notified := false
	s.Subscribe(func(Change) { notified = true })

	for _, doc := range []string{`{"email": {"port": 70000}}`, `{"telephony": 1}`, `not json`} {
		_, err = Import(ctx, s, strings.NewReader(doc))
		var ve *ValidationError
		require.ErrorAs(t, err, &ve)
	}
	_, err = Import(ctx, s, iotestErrReader{})
	require.Error(t, err)
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, before, after)
	require.False(t, notified)
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func FuzzParseParams(f *testing.F) {
	f.Add([]byte(plainValid))
	f.Add([]byte(`{"email": {"o365": {"mode": 1}}, "x": null}`))
	f.Add([]byte(`{"proxy": {"http": {"port": "1"}}, "numbering_plan": {"internal_patterns": [1]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseParams(bytes.NewReader(b))
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("not a ValidationError: %v", err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("accepted a document that does not validate: %v", err)
		}
	})
}
