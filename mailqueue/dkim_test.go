package mailqueue_test

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/mailqueue"
)

func writeKey(t *testing.T, dir string, der []byte, typ string, mode os.FileMode) string {
	p := filepath.Join(dir, fmt.Sprintf("key-%d.pem", time.Now().UnixNano()))
	require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode))
	require.NoError(t, os.Chmod(p, mode))
	return p
}

func dkimLookup(pub []byte, algo string) func(string) ([]string, error) {
	return func(domain string) ([]string, error) {
		if domain != "ucx._domainkey.example.com" {
			return nil, fmt.Errorf("no TXT for %s", domain)
		}
		return []string{"v=DKIM1; k=" + algo + "; p=" + base64.StdEncoding.EncodeToString(pub)}, nil
	}
}

func TestDKIMSignVerifies(t *testing.T) {
	dir := t.TempDir()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	rsaPub, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	require.NoError(t, err)
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	edDER, err := x509.MarshalPKCS8PrivateKey(edPriv)
	require.NoError(t, err)

	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	m := &mailqueue.Message{
		From:        mail.Address{Name: "Zoë Müller", Address: "zentrale@example.com"},
		To:          []mail.Address{{Address: "bob@example.org"}},
		Subject:     "Grüße",
		Text:        "Hallo\n.\n..x",
		Attachments: []mailqueue.Attachment{{Filename: "a.wav", Data: bytes.Repeat([]byte{1, 2, 3}, 1000)}},
	}
	raw, err := m.Build()
	require.NoError(t, err)

	for _, tc := range []struct {
		name   string
		file   string
		lookup func(string) ([]string, error)
	}{
		{"rsa-pkcs1", writeKey(t, dir, x509.MarshalPKCS1PrivateKey(rsaKey), "RSA PRIVATE KEY", 0o600), dkimLookup(rsaPub, "rsa")},
		{"ed25519-pkcs8", writeKey(t, dir, edDER, "PRIVATE KEY", 0o600), dkimLookup(edPub, "ed25519")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := mailqueue.NewDKIMSigner(mailqueue.DKIMConfig{
				Domain: "example.com", Selector: "ucx", PrivateKeyFile: tc.file,
				Expiration: 7 * 24 * time.Hour, Now: func() time.Time { return now },
			})
			require.NoError(t, err)
			signed, err := s.Sign(raw)
			require.NoError(t, err)
			require.NoError(t, mailqueue.CheckWireFormat(signed))
			require.True(t, bytes.HasSuffix(signed, raw), "the message itself is unchanged")
			require.True(t, bytes.HasPrefix(signed, []byte("DKIM-Signature:")))

			vs, err := dkim.VerifyWithOptions(bytes.NewReader(signed), &dkim.VerifyOptions{LookupTXT: tc.lookup})
			require.NoError(t, err)
			require.Len(t, vs, 1)
			require.NoError(t, vs[0].Err)
			require.Equal(t, "example.com", vs[0].Domain)
			require.Equal(t, now.Add(7*24*time.Hour).Unix(), vs[0].Expiration.Unix())

			// Tampering is detected.
			bad := bytes.Replace(signed, []byte("Hallo"), []byte("Hallo!"), 1)
			vs, err = dkim.VerifyWithOptions(bytes.NewReader(bad), &dkim.VerifyOptions{LookupTXT: tc.lookup})
			require.NoError(t, err)
			require.Error(t, vs[0].Err)
		})
	}

	// Without Expiration there is no x= tag.
	s, err := mailqueue.NewDKIMSigner(mailqueue.DKIMConfig{Domain: "example.com", Selector: "ucx", PrivateKey: rsaKey})
	require.NoError(t, err)
	signed, err := s.Sign(raw)
	require.NoError(t, err)
	sig := string(signed[:bytes.Index(signed, []byte("\r\nFrom:"))])
	require.NotContains(t, strings.ReplaceAll(sig, " ", ""), ";x=")
}

func TestDKIMConfigValidation(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GODEBUG", "rsa1024min=0") // allow generating the weak key
	small, err := rsa.GenerateKey(rand.Reader, 512)
	require.NoError(t, err)
	good, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	world := writeKey(t, dir, x509.MarshalPKCS1PrivateKey(good), "RSA PRIVATE KEY", 0o644)
	cert := writeKey(t, dir, []byte("x"), "CERTIFICATE", 0o600)

	for _, tc := range []struct {
		name string
		cfg  mailqueue.DKIMConfig
		want []string
	}{
		{"empty", mailqueue.DKIMConfig{}, []string{"dkim.domain: is required", "dkim.selector: is required", "dkim.private_key_file: is required"}},
		{"x shorter than lifetime", mailqueue.DKIMConfig{Domain: "d", Selector: "s", PrivateKey: good, Expiration: 24 * time.Hour},
			[]string{"dkim.expiration: must be at least the queue's max lifetime 120h0m0s (a retried message would carry an expired signature), got 24h0m0s"}},
		{"x shorter than custom lifetime", mailqueue.DKIMConfig{Domain: "d", Selector: "s", PrivateKey: good, Expiration: 48 * time.Hour, MaxLifetime: 72 * time.Hour},
			[]string{"dkim.expiration: must be at least the queue's max lifetime 72h0m0s"}},
		{"no From", mailqueue.DKIMConfig{Domain: "d", Selector: "s", PrivateKey: good, HeaderKeys: []string{"Subject"}},
			[]string{"dkim.header_keys: must include From (RFC 6376 §5.4)"}},
		{"weak key", mailqueue.DKIMConfig{Domain: "d", Selector: "s", PrivateKey: small}, []string{"dkim.private_key_file: RSA key has 512 bits, at least 1024 required (RFC 8301)"}},
		{"world readable", mailqueue.DKIMConfig{Domain: "d", Selector: "s", PrivateKeyFile: world}, []string{"dkim.private_key_file: must not be accessible by group or others (mode 0644)"}},
		{"not a key", mailqueue.DKIMConfig{Domain: "d", Selector: "s", PrivateKeyFile: cert}, []string{`dkim.private_key_file: PEM block "CERTIFICATE" is not a private key`}},
		{"missing", mailqueue.DKIMConfig{Domain: "d", Selector: "s", PrivateKeyFile: filepath.Join(dir, "nope")}, []string{"dkim.private_key_file: cannot be read"}},
		{"ok", mailqueue.DKIMConfig{Domain: "d", Selector: "s", PrivateKey: good, Expiration: 6 * 24 * time.Hour}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mailqueue.NewDKIMSigner(tc.cfg)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

// TestDKIMKeyNeverPrinted prints DKIMConfig and DKIMSigner holding RSA and
// Ed25519 keys directly, by pointer and nested, with every verb (bad ones
// included, which make fmt switch methods off) and through slog.
func TestDKIMKeyNeverPrinted(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	_, ek, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	for name, key := range map[string]interface {
		Public() crypto.PublicKey
		Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error)
	}{"rsa": rk, "ed25519": ek} {
		t.Run(name, func(t *testing.T) {
			cfg := mailqueue.DKIMConfig{Domain: "example.com", Selector: "sel", PrivateKey: key}
			s, err := mailqueue.NewDKIMSigner(cfg)
			require.NoError(t, err)
			type holder struct {
				C   *mailqueue.DKIMConfig
				S   *mailqueue.DKIMSigner
				Any any
				s   *mailqueue.DKIMSigner
				v   mailqueue.DKIMSigner
			}
			values := []any{cfg, &cfg, s, *s, holder{C: &cfg, S: s, Any: &cfg, s: s, v: *s}, struct{ C mailqueue.DKIMConfig }{cfg}}
			var secrets []string
			if name == "rsa" {
				secrets = []string{rk.D.String(), rk.Primes[0].String(), fmt.Sprintf("%x", rk.D)}
			} else {
				secrets = []string{fmt.Sprint([]byte(ek)), fmt.Sprintf("%x", []byte(ek)), fmt.Sprintf("%x", []byte(ek.Seed()))}
			}
			for i, v := range values {
				var outs []string
				for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%t", "%e", "%c", "%U"} {
					outs = append(outs, fmt.Sprintf(verb, v))
				}
				var buf bytes.Buffer
				slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "v", v)
				slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "v", v)
				outs = append(outs, buf.String())
				for _, o := range outs {
					for _, sec := range secrets {
						require.NotContains(t, o, sec, "value %d", i)
					}
				}
			}
			require.Contains(t, fmt.Sprintf("%+v", cfg), "PrivateKey:[REDACTED]")
			require.Contains(t, fmt.Sprint(s), "dkim d=example.com s=sel a=")
		})
	}
}
