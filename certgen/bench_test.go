package certgen

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkGenerate measures Generate per key type; key generation
// dominates, so the RSA figures vary from run to run (prime search).
func BenchmarkGenerate(b *testing.B) {
	for _, kt := range KeyTypes() {
		b.Run(string(kt), func(b *testing.B) {
			opts := Options{Host: "IAS_SRV01", FQDN: "ias.example.com", IPAddresses: []string{"10.0.0.5"}, KeyType: kt}
			for b.Loop() {
				if _, err := Generate(opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBaselineStdlib is what a user would write instead, as Go's
// crypto/tls/generate_cert.go does: generate the key and call
// x509.CreateCertificate with a minimal template. Comparing it with
// BenchmarkGenerate shows the cost of certgen's validation, SKI, serial
// rules and PKCS#8 encoding.
func BenchmarkBaselineStdlib(b *testing.B) {
	for _, kt := range KeyTypes() {
		b.Run(string(kt), func(b *testing.B) {
			for b.Loop() {
				var key crypto.Signer
				var err error
				if bits := kt.rsaBits(); bits > 0 {
					key, err = rsa.GenerateKey(rand.Reader, bits)
				} else {
					key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				}
				if err != nil {
					b.Fatal(err)
				}
				serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
				now := time.Now()
				tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "IAS_SRV01"},
					NotBefore: now, NotAfter: now.AddDate(5, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature,
					ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true,
					DNSNames: []string{"ias_srv01", "ias.example.com"}}
				if _, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEnsureExisting measures the boot-time call on an existing pair
// (read, parse, match, tidy, check) against the baseline a user would
// pick, tls.LoadX509KeyPair (read, parse, match only).
func BenchmarkEnsureExisting(b *testing.B) {
	dir := b.TempDir()
	opts := Options{Host: "IAS_SRV01", KeyType: KeyRSA2048}
	if _, _, err := Ensure(dir, opts); err != nil {
		b.Fatal(err)
	}
	b.Run("certgen.Ensure", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := Ensure(dir, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tls.LoadX509KeyPair", func(b *testing.B) {
		for b.Loop() {
			if _, err := tls.LoadX509KeyPair(filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
