package certgen

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNoKeyInOutput formats every type that holds or travels with a key in
// every way a program might print it, and proves that no form of the
// private key appears.
func TestNoKeyInOutput(t *testing.T) {
	for _, kt := range []KeyType{KeyRSA2048, KeyECDSAP256} {
		t.Run(string(kt), func(t *testing.T) {
			p := pairOf(t, kt)
			der := p.KeyDER()
			var priv []byte
			switch k := p.PrivateKey().(type) {
			case *rsa.PrivateKey:
				priv = k.D.Bytes()
			case *ecdsa.PrivateKey:
				var err error
				priv, err = k.Bytes()
				require.NoError(t, err)
			}
			off := bytes.Index(der, priv)
			require.Positive(t, off)
			off += (3 - off%3) % 3
			b64 := base64.StdEncoding.EncodeToString(der)[off/3*4 : off/3*4+32]
			forbidden := []string{"PRIVATE KEY", b64, fmt.Sprintf("%x", priv[:16]), fmt.Sprintf("%X", priv[:16]), strings.Trim(fmt.Sprint(priv[:16]), "[]"),
				new(big.Int).SetBytes(priv).String()[:30]}
			dir := t.TempDir()
			require.NoError(t, Save(dir, p))
			st, err := Inspect(dir, Options{Host: "IAS_SRV01"})
			require.NoError(t, err)
			opts := Options{Host: "IAS_SRV01", KeyType: kt}
			values := []any{p, *p, st, opts, p.KeyPEMSecret(), p.TLSCertificate().Leaf}

			var out bytes.Buffer
			for _, v := range values {
				for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
					fmt.Fprintf(&out, verb+"\n", v)
				}
				b, err := json.Marshal(v)
				if err == nil {
					out.Write(b)
				}
			}
			logger := slog.New(slog.NewJSONHandler(&out, nil))
			logger.Info("x", "pair", p, "status", st, "opts", opts, "secret", p.KeyPEMSecret())
			slog.New(slog.NewTextHandler(&out, nil)).Info("x", "pair", p, "secret", p.KeyPEMSecret())

			// Errors of a directory whose key does not match.
			other := pairOf(t, KeyRSA3072)
			require.NoError(t, os.WriteFile(filepath.Join(dir, CertFile), other.CertPEM(), 0o644))
			_, _, err = Ensure(dir, opts)
			require.Error(t, err)
			out.WriteString(err.Error())
			_, err = ParsePair(p.KeyPEM(), p.KeyPEM())
			require.Error(t, err)
			out.WriteString(err.Error())

			s := out.String()
			assert.Contains(t, s, "[REDACTED]")
			assert.Contains(t, s, p.Serial())
			for _, f := range forbidden {
				if i := strings.Index(s, f); i >= 0 {
					t.Errorf("key material %q found: ...%s...", f, s[max(0, i-200):min(len(s), i+len(f)+50)])
				}
			}
		})
	}
}

// TestNoKeyInReflectedOutput covers the printing paths where fmt does not
// call Pair's methods: a Pair in an unexported field of the caller's
// struct (fmt cannot call methods through it) and a bad verb (%s, %q, %t)
// on a method-less pointer that leads to a Pair (fmt disables methods
// while it reports the bad verb). A key stored as bytes in the Pair was
// printed there in decimal or hex.
func TestNoKeyInReflectedOutput(t *testing.T) {
	for _, kt := range []KeyType{KeyRSA2048, KeyECDSAP256} {
		t.Run(string(kt), func(t *testing.T) {
			p := pairOf(t, kt)
			var priv []byte
			var privInt *big.Int
			switch k := p.PrivateKey().(type) {
			case *rsa.PrivateKey:
				priv, privInt = k.D.Bytes(), k.D
			case *ecdsa.PrivateKey:
				var err error
				priv, err = k.Bytes()
				require.NoError(t, err)
				privInt = new(big.Int).SetBytes(priv)
			}
			forbidden := []string{fmt.Sprintf("%x", priv[:12]), fmt.Sprintf("%X", priv[:12]),
				strings.Trim(fmt.Sprint(priv[:12]), "[]"), privInt.String()[:20]}
			type wrapper struct{ P Pair }
			type hidden struct{ p Pair }
			type hiddenPtr struct{ p *Pair }
			type outer struct{ W *wrapper }
			type outerHidden struct{ H *hidden }
			values := map[string]any{
				"outer":        outer{&wrapper{*p}},
				"outer hidden": outerHidden{&hidden{*p}},
				"hidden":       hidden{*p},
				"&hidden":      &hidden{*p},
				"hidden ptr":   hiddenPtr{p},
				"&hidden ptr":  &hiddenPtr{p},
				"slice":        []hidden{{*p}},
				"map":          map[string]hiddenPtr{"a": {p}},
				"tls":          p.TLSCertificate(),
				"[]*wrapper":   []*wrapper{{*p}},
			}
			for name, v := range values {
				for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X", "%q", "%t", "%08.3f"} {
					s := fmt.Sprintf(verb, v)
					for _, f := range forbidden {
						if i := strings.Index(s, f); i >= 0 {
							t.Errorf("%s with %s: key material found: ...%s...", name, verb, s[max(0, i-100):min(len(s), i+len(f)+20)])
						}
					}
				}
			}
		})
	}
}
