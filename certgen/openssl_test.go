package certgen_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/certgen"
)

// openssl runs the openssl command line tool and returns its combined
// output; the test skips when openssl is not on PATH.
func openssl(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not on PATH: skipping the OpenSSL acceptance test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestOpenSSLAcceptance checks generated pairs of each key type with
// OpenSSL: the certificate parses and shows the profile, verifies as its
// own trust anchor for server and client use, the key matches, legacy key
// exports parse, and openssl s_client completes a mutual-TLS handshake
// with a Go server using the pair.
func TestOpenSSLAcceptance(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not on PATH: skipping the OpenSSL acceptance test")
	}
	for _, kt := range certgen.KeyTypes() {
		t.Run(string(kt), func(t *testing.T) {
			dir := t.TempDir()
			p, st, err := certgen.Ensure(dir, certgen.Options{Host: "IAS_SRV01", FQDN: "ias_srv01.corp.example",
				IPAddresses: []string{"127.0.0.1", "2001:db8::5"}, Organization: "Example UC", KeyType: kt})
			require.NoError(t, err)
			require.Equal(t, certgen.StateValid, st.State)
			cert, key := filepath.Join(dir, certgen.CertFile), filepath.Join(dir, certgen.KeyFile)

			text, err := openssl(t, "", "x509", "-in", cert, "-text", "-noout")
			require.NoError(t, err, text)
			want := []string{
				"Version: 3 (0x2)",
				"Subject: O = Example UC, CN = IAS_SRV01",
				"Issuer: O = Example UC, CN = IAS_SRV01",
				"X509v3 Key Usage: critical",
				"TLS Web Server Authentication, TLS Web Client Authentication",
				"CA:FALSE",
				"X509v3 Subject Key Identifier",
				"DNS:ias_srv01, DNS:ias_srv01.corp.example, IP Address:127.0.0.1, IP Address:2001:DB8:0:0:0:0:0:5",
			}
			if kt == certgen.KeyECDSAP256 {
				want = append(want, "ecdsa-with-SHA256", "Public-Key: (256 bit)", "NIST CURVE: P-256")
			} else {
				want = append(want, "sha256WithRSAEncryption", "Digital Signature, Key Encipherment",
					"Public-Key: ("+strings.TrimPrefix(string(kt), "rsa")+" bit)")
			}
			for _, w := range want {
				assert.Contains(t, text, w)
			}
			assert.NotContains(t, text, "Authority Key Identifier")
			serial, err := openssl(t, "", "x509", "-in", cert, "-noout", "-serial")
			require.NoError(t, err)
			assert.Equal(t, "serial="+p.Serial(), strings.TrimSpace(serial))

			for _, purpose := range []string{"", "sslserver", "sslclient"} {
				args := []string{"verify", "-partial_chain", "-CAfile", cert}
				if purpose != "" {
					args = append(args, "-purpose", purpose)
				}
				out, err := openssl(t, "", append(args, cert)...)
				require.NoError(t, err, out)
				assert.Equal(t, cert+": OK", strings.TrimSpace(out))
			}
			out, err := openssl(t, "", "x509", "-in", cert, "-noout", "-checkhost", "ias_srv01", "-checkip", "127.0.0.1")
			require.NoError(t, err)
			assert.Contains(t, out, "Hostname ias_srv01 does match certificate")
			assert.Contains(t, out, "IP 127.0.0.1 does match certificate")

			certPub, err := openssl(t, "", "x509", "-in", cert, "-noout", "-pubkey")
			require.NoError(t, err)
			keyPub, err := openssl(t, "", "pkey", "-in", key, "-pubout")
			require.NoError(t, err, keyPub)
			assert.Equal(t, certPub, keyPub, "key matches certificate")

			legacy, err := p.KeyPEMPKCS1()
			if kt == certgen.KeyECDSAP256 {
				legacy, err = p.KeyPEMSEC1()
			}
			require.NoError(t, err)
			legacyPath := filepath.Join(dir, "legacy.pem")
			require.NoError(t, os.WriteFile(legacyPath, legacy, 0o600))
			legacyPub, err := openssl(t, "", "pkey", "-in", legacyPath, "-pubout")
			require.NoError(t, err, legacyPub)
			assert.Equal(t, certPub, legacyPub)

			// openssl s_client against a Go TLS server, both sides
			// authenticated by the pair.
			roots := x509.NewCertPool()
			roots.AddCert(p.Certificate())
			ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{p.TLSCertificate()},
				ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: roots})
			require.NoError(t, err)
			defer ln.Close()
			versions := []string{"-tls1_2", "-tls1_3"}
			accepted := make(chan error, len(versions))
			go func() {
				for range versions {
					c, err := ln.Accept()
					if err != nil {
						accepted <- err
						return
					}
					_ = c.SetDeadline(time.Now().Add(time.Minute))
					accepted <- c.(*tls.Conn).Handshake()
					c.Close()
				}
			}()
			for _, version := range versions {
				out, err = openssl(t, "", "s_client", "-connect", ln.Addr().String(), version, "-servername", "ias_srv01",
					"-CAfile", cert, "-partial_chain", "-verify_return_error", "-verify_hostname", "ias_srv01",
					"-cert", cert, "-key", key, "-brief")
				require.NoError(t, err, out)
				assert.Contains(t, out, "Verification: OK", version)
				require.NoError(t, <-accepted, version)
			}
		})
	}
}
