package certgen

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParsePair feeds arbitrary bytes to the PEM loaders: they must never
// panic, and whatever they accept must be a matching pair that re-encodes
// and parses back to the same thing.
func FuzzParsePair(f *testing.F) {
	// Fixtures, not freshly generated pairs: each fuzz worker would
	// otherwise generate RSA keys under coverage instrumentation.
	for _, fx := range fixtures(f) {
		f.Add(fx.cert, fx.key)
	}
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----\n"), []byte("-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, certPEM, keyPEM []byte) {
		p, err := ParsePair(certPEM, keyPEM)
		if err != nil {
			if p != nil {
				t.Fatal("pair with error")
			}
			return
		}
		q, err := ParsePair(p.CertPEM(), p.KeyPEM())
		if err != nil {
			t.Fatalf("re-encoded pair does not parse: %v", err)
		}
		if q.Serial() != p.Serial() || string(q.KeyDER()) != string(p.KeyDER()) {
			t.Fatal("round trip changed the pair")
		}
		_ = p.String()
		_ = Check(p.Certificate(), "h", p.Certificate().NotBefore)
	})
}

// FuzzLoad writes arbitrary file contents into a certificate directory:
// Load and Inspect must not panic, and Load must succeed only with a
// matching pair.
func FuzzLoad(f *testing.F) {
	fx := fixtures(f)
	f.Add(fx[0].cert, fx[0].key, []byte{})
	f.Add(fx[2].cert, fx[0].key, fx[0].cert)
	f.Add([]byte("x"), []byte("y"), []byte("z"))
	f.Fuzz(func(t *testing.T, cert, key, backup []byte) {
		dir := t.TempDir()
		for name, data := range map[string][]byte{CertFile: cert, KeyFile: key, BackupCertFile: backup} {
			if len(data) > 0 {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
		got, err := Load(dir)
		if err == nil && got == nil {
			t.Fatal("nil pair without error")
		}
		st, err := Inspect(dir, Options{Host: "h"})
		if err == nil && st.State == "" {
			t.Fatal("empty state")
		}
	})
}

// FuzzOptions checks that Validate never panics and that whatever it
// accepts Generate can issue, with every name in the certificate.
func FuzzOptions(f *testing.F) {
	f.Add(`{"host":"IAS_SRV01","fqdn":"ias.example.com","dns_names":["a"],"ip_addresses":["::1"],"validity":"825d","renewal_window":"60d"}`)
	f.Add(`{"host":"h","validity_years":30,"renewal_window":"1d12h"}`)
	f.Add(`{"host":"*","key_type":"ed25519"}`)
	f.Fuzz(func(t *testing.T, doc string) {
		var o Options
		if err := json.Unmarshal([]byte(doc), &o); err != nil {
			return
		}
		if o.Validate() != nil {
			return
		}
		o.KeyType = KeyECDSAP256 // keep iterations fast
		p, err := Generate(o)
		if err != nil {
			t.Fatalf("valid options %+v: %v", o, err)
		}
		st := CheckPair(p, Options{Host: o.Host, FQDN: o.FQDN, DNSNames: o.DNSNames, IPAddresses: o.IPAddresses, Now: p.Certificate().NotBefore.Local})
		if len(st.MissingNames) > 0 {
			t.Fatalf("certificate lacks %v", st.MissingNames)
		}
		for _, n := range p.Certificate().DNSNames {
			if strings.Contains(n, "*") || n != strings.ToLower(n) {
				t.Fatalf("bad SAN %q", n)
			}
		}
	})
}

// fixture is a pair from testdata/ (made by examples/certgen; the legacy
// key forms by openssl pkey -traditional and openssl ec).
type fixture struct {
	name      string
	cert, key []byte
}

func fixtures(t testing.TB) []fixture {
	t.Helper()
	var out []fixture
	for _, f := range []struct{ dir, key string }{
		{"ecdsa-p256", "key.pem"}, {"ecdsa-p256", "key-sec1.pem"},
		{"rsa2048", "key.pem"}, {"rsa2048", "key-pkcs1.pem"},
	} {
		cert, err := os.ReadFile(filepath.Join("testdata", f.dir, CertFile))
		if err != nil {
			t.Fatal(err)
		}
		key, err := os.ReadFile(filepath.Join("testdata", f.dir, f.key))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fixture{f.dir + "/" + f.key, cert, key})
	}
	return out
}
