package certgen

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testPairs holds one generated pair per key type, made once.
var testPairs = map[KeyType]*Pair{}

func pairOf(t testing.TB, kt KeyType) *Pair {
	t.Helper()
	if p, ok := testPairs[kt]; ok {
		return p
	}
	p, err := Generate(Options{Host: "IAS_SRV01", FQDN: "ias.example.test", IPAddresses: []string{"127.0.0.1", "::1"}, KeyType: kt})
	require.NoError(t, err)
	testPairs[kt] = p
	return p
}

func TestPEMExports(t *testing.T) {
	for _, kt := range KeyTypes() {
		t.Run(string(kt), func(t *testing.T) {
			p := pairOf(t, kt)
			certPEM := p.CertPEM()
			require.True(t, bytes.HasSuffix(certPEM, []byte("-----END CERTIFICATE-----\n")))
			b, rest := pem.Decode(certPEM)
			require.NotNil(t, b)
			assert.Empty(t, rest, "certificate only")
			assert.Equal(t, "CERTIFICATE", b.Type)
			assert.Equal(t, p.CertDER(), b.Bytes)

			keyPEM := p.KeyPEM()
			require.True(t, bytes.HasSuffix(keyPEM, []byte("-----END PRIVATE KEY-----\n")))
			b, _ = pem.Decode(keyPEM)
			require.NotNil(t, b)
			assert.Equal(t, "PRIVATE KEY", b.Type)
			assert.Equal(t, p.KeyDER(), b.Bytes)
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			require.NoError(t, err)
			assert.True(t, k.(interface{ Equal(crypto.PrivateKey) bool }).Equal(p.PrivateKey()))
			assert.Equal(t, string(keyPEM), p.KeyPEMSecret().Reveal())

			pkcs1, err1 := p.KeyPEMPKCS1()
			sec1, err2 := p.KeyPEMSEC1()
			legacy := pkcs1
			if kt == KeyECDSAP256 {
				require.ErrorIs(t, err1, ErrUnsupportedKey)
				require.NoError(t, err2)
				legacy = sec1
				assert.True(t, bytes.HasPrefix(sec1, []byte("-----BEGIN EC PRIVATE KEY-----\n")))
			} else {
				require.NoError(t, err1)
				require.ErrorIs(t, err2, ErrUnsupportedKey)
				assert.True(t, bytes.HasPrefix(pkcs1, []byte("-----BEGIN RSA PRIVATE KEY-----\n")))
			}
			assert.True(t, bytes.HasSuffix(legacy, []byte("-----\n")))

			// Every form parses back into the same pair.
			for _, kp := range [][]byte{keyPEM, legacy} {
				q, err := ParsePair(certPEM, kp)
				require.NoError(t, err)
				assert.Equal(t, p.KeyDER(), q.KeyDER())
				assert.Equal(t, p.Serial(), q.Serial())
			}
			// Returned slices are copies.
			d := p.CertDER()
			d[0] ^= 0xff
			assert.NotEqual(t, d, p.CertDER())
		})
	}
}

func TestParsePairInputs(t *testing.T) {
	p := pairOf(t, KeyECDSAP256)
	other := pairOf(t, KeyRSA2048)
	sec1, err := p.KeyPEMSEC1()
	require.NoError(t, err)
	ecParams := pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}})
	cases := []struct {
		name    string
		cert    []byte
		key     []byte
		wantErr error
	}{
		{"openssl ecparam layout", p.CertPEM(), append(ecParams, sec1...), nil},
		{"text before the PEM and a chain after", append(append([]byte("Certificate:\n  Data: ...\n"), p.CertPEM()...), other.CertPEM()...), p.KeyPEM(), nil},
		{"combined file as key", p.CertPEM(), append(p.CertPEM(), p.KeyPEM()...), nil},
		{"mismatch", p.CertPEM(), other.KeyPEM(), ErrKeyMismatch},
		{"no cert", []byte("garbage"), p.KeyPEM(), ErrBadPEM},
		{"no key", p.CertPEM(), p.CertPEM(), ErrBadPEM},
		{"empty", nil, nil, ErrBadPEM},
		{"corrupt cert", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}}), p.KeyPEM(), ErrBadPEM},
		{"corrupt key", p.CertPEM(), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}), ErrBadPEM},
		{"encrypted pkcs8", p.CertPEM(), pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), ErrBadPEM},
		{"legacy encrypted", p.CertPEM(), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: []byte{1}}), ErrBadPEM},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := ParsePair(tc.cert, tc.key)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.Nil(t, q)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, p.Serial(), q.Serial())
		})
	}
}

func TestNewPairRejects(t *testing.T) {
	p := pairOf(t, KeyECDSAP256)
	_, err := NewPair(nil, p.PrivateKey())
	assert.Error(t, err)
	_, err = NewPair(p.Certificate(), nil)
	assert.Error(t, err)
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	_, err = NewPair(p.Certificate(), k)
	assert.ErrorIs(t, err, ErrKeyMismatch)
}

// TestVerifyAndTLS proves the pair works as a self-signed trust anchor with
// Go's verifier and in a real mutual-TLS handshake on loopback, in both
// roles, for each key type.
func TestVerifyAndTLS(t *testing.T) {
	for _, kt := range KeyTypes() {
		t.Run(string(kt), func(t *testing.T) {
			p := pairOf(t, kt)
			roots := x509.NewCertPool()
			roots.AddCert(p.Certificate())
			for _, name := range []string{"ias_srv01", "IAS_SRV01", "ias.example.test", "127.0.0.1", "::1"} {
				for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
					_, err := p.Certificate().Verify(x509.VerifyOptions{DNSName: name, Roots: roots, KeyUsages: []x509.ExtKeyUsage{usage}})
					assert.NoError(t, err, "%s %v", name, usage)
				}
			}
			_, err := p.Certificate().Verify(x509.VerifyOptions{DNSName: "other", Roots: roots})
			assert.Error(t, err)

			tlsCert := p.TLSCertificate()
			srvCfg := &tls.Config{Certificates: []tls.Certificate{tlsCert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: roots}
			ln, err := tls.Listen("tcp", "127.0.0.1:0", srvCfg)
			require.NoError(t, err)
			defer ln.Close()
			srvErr := make(chan error, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					srvErr <- err
					return
				}
				defer c.Close()
				tc := c.(*tls.Conn)
				if err := tc.Handshake(); err != nil {
					srvErr <- err
					return
				}
				if n := len(tc.ConnectionState().PeerCertificates); n != 1 {
					srvErr <- errors.New("no client certificate")
					return
				}
				_, err = io.WriteString(tc, "hello\n")
				srvErr <- err
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			d := tls.Dialer{Config: &tls.Config{RootCAs: roots, ServerName: "ias_srv01", Certificates: []tls.Certificate{tlsCert}, MinVersion: tls.VersionTLS12}}
			c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
			require.NoError(t, err)
			defer c.Close()
			buf := make([]byte, 6)
			_, err = io.ReadFull(c, buf)
			require.NoError(t, err)
			assert.Equal(t, "hello\n", string(buf))
			require.NoError(t, <-srvErr)

			// By IP address too, with TLS 1.2 (the version older PBXs speak).
			ln2, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{tlsCert}})
			require.NoError(t, err)
			defer ln2.Close()
			go func() {
				c, err := ln2.Accept()
				if err == nil {
					_ = c.(*tls.Conn).Handshake()
					c.Close()
				}
			}()
			d2 := tls.Dialer{Config: &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MaxVersion: tls.VersionTLS12}}
			c2, err := d2.DialContext(ctx, "tcp", ln2.Addr().String())
			require.NoError(t, err)
			c2.Close()
		})
	}
}

// TestFixtures parses pairs written by the CLI and keys converted by
// openssl to the legacy forms.
func TestFixtures(t *testing.T) {
	for _, fx := range fixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			p, err := ParsePair(fx.cert, fx.key)
			require.NoError(t, err)
			assert.Equal(t, "fixture-"+map[bool]string{true: "ec", false: "rsa"}[p.KeyType() == KeyECDSAP256], p.Certificate().Subject.CommonName)
			assert.Contains(t, []KeyType{KeyRSA2048, KeyECDSAP256}, p.KeyType())
		})
	}
}
