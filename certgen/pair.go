package certgen

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"strings"
)

// PEM block types.
const (
	pemCertificate   = "CERTIFICATE"
	pemPKCS8         = "PRIVATE KEY"
	pemPKCS1         = "RSA PRIVATE KEY"
	pemSEC1          = "EC PRIVATE KEY"
	pemEncryptedPKCS = "ENCRYPTED PRIVATE KEY"
)

// Pair is a certificate and its private key. A Pair is immutable and safe
// for concurrent use; the key never appears in its printed, logged or JSON
// forms.
type Pair struct {
	cert *x509.Certificate
	// key is the only reference to the private key; the encoded forms are
	// built on demand. fmt prints a pointer nested in a value as an
	// address even where it ignores methods (an unexported field of the
	// caller's struct, a bad verb such as %s on a method-less pointer), so
	// no printing path reaches key bytes; a stored []byte would be printed.
	key crypto.Signer
}

// NewPair returns the pair of cert and key. The key must be an RSA or ECDSA
// private key whose public half is the certificate's (else ErrKeyMismatch).
func NewPair(cert *x509.Certificate, key crypto.Signer) (*Pair, error) {
	if cert == nil || key == nil {
		return nil, fmt.Errorf("certgen: new pair: certificate and key are required")
	}
	switch key.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey:
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, key)
	}
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		return nil, ErrKeyMismatch
	}
	if _, err := x509.MarshalPKCS8PrivateKey(key); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	return &Pair{cert: cert, key: key}, nil
}

// ParsePair parses a PEM certificate and a PEM private key. The first
// CERTIFICATE block of certPEM is used (further blocks, such as a chain,
// are ignored). keyPEM may hold PKCS#8 ("PRIVATE KEY"), PKCS#1 ("RSA
// PRIVATE KEY") or SEC1 ("EC PRIVATE KEY") keys; other blocks before it
// (an "EC PARAMETERS" block, a certificate) are skipped. Encrypted keys are
// refused.
func ParsePair(certPEM, keyPEM []byte) (*Pair, error) {
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, err
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return nil, err
	}
	return NewPair(cert, key)
}

func parseCertPEM(data []byte) (*x509.Certificate, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, fmt.Errorf("%w: no CERTIFICATE block", ErrBadPEM)
		}
		if b.Type != pemCertificate {
			continue
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate: %v", ErrBadPEM, err)
		}
		return cert, nil
	}
}

func parseKeyPEM(data []byte) (crypto.Signer, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, fmt.Errorf("%w: no PRIVATE KEY block", ErrBadPEM)
		}
		if b.Type == pemEncryptedPKCS || b.Headers["Proc-Type"] != "" {
			return nil, fmt.Errorf("%w: encrypted private keys are not supported", ErrBadPEM)
		}
		var (
			key any
			err error
		)
		switch b.Type {
		case pemPKCS8:
			key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case pemPKCS1:
			key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case pemSEC1:
			key, err = x509.ParseECPrivateKey(b.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrBadPEM, strings.ToLower(b.Type), err)
		}
		switch k := key.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case *ecdsa.PrivateKey:
			return k, nil
		}
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, key)
	}
}

// Certificate returns the parsed certificate. Callers must not modify it.
func (p *Pair) Certificate() *x509.Certificate { return p.cert }

// PrivateKey returns the private key (*rsa.PrivateKey or
// *ecdsa.PrivateKey). Callers must not modify it.
func (p *Pair) PrivateKey() crypto.Signer { return p.key }

// KeyType names the key: one of KeyTypes for keys Generate creates, a
// descriptive name ("rsa1024", "ecdsa-p384") for others loaded from disk.
func (p *Pair) KeyType() KeyType { return keyTypeOf(p.key.Public()) }

// CertDER returns the DER-encoded certificate (a copy).
func (p *Pair) CertDER() []byte { return bytes.Clone(p.cert.Raw) }

// CertPEM returns the certificate alone as PEM, ending in a newline: the
// ".pem" an admin downloads and uploads to the PBX.
func (p *Pair) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemCertificate, Bytes: p.cert.Raw})
}

// KeyDER returns the private key as DER-encoded PKCS#8 (a copy).
func (p *Pair) KeyDER() []byte { return p.pkcs8() }

// pkcs8 encodes the key; NewPair checked that it can be encoded.
func (p *Pair) pkcs8() []byte {
	der, err := x509.MarshalPKCS8PrivateKey(p.key)
	if err != nil {
		return nil
	}
	return der
}

// KeyPEM returns the private key as PKCS#8 PEM ("PRIVATE KEY", RFC 5208),
// ending in a newline. Handle it as a secret.
func (p *Pair) KeyPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemPKCS8, Bytes: p.pkcs8()})
}

// KeyPEMSecret returns KeyPEM as a Secret, for stores that persist keys
// and for code paths that might print what they hold.
func (p *Pair) KeyPEMSecret() Secret { return NewSecret(string(p.KeyPEM())) }

// KeyPEMPKCS1 returns an RSA key in the legacy PKCS#1 form ("RSA PRIVATE
// KEY", RFC 8017) for peers that do not read PKCS#8. It fails with
// ErrUnsupportedKey for ECDSA keys.
func (p *Pair) KeyPEMPKCS1() ([]byte, error) {
	k, ok := p.key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: PKCS#1 holds only RSA keys, this is %s", ErrUnsupportedKey, p.KeyType())
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPKCS1, Bytes: x509.MarshalPKCS1PrivateKey(k)}), nil
}

// KeyPEMSEC1 returns an ECDSA key in the legacy SEC1 form ("EC PRIVATE
// KEY", RFC 5915) for peers that do not read PKCS#8. It fails with
// ErrUnsupportedKey for RSA keys.
func (p *Pair) KeyPEMSEC1() ([]byte, error) {
	k, ok := p.key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: SEC1 holds only EC keys, this is %s", ErrUnsupportedKey, p.KeyType())
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemSEC1, Bytes: der}), nil
}

// TLSCertificate returns the pair for tls.Config.Certificates (server) or
// GetClientCertificate (client auth).
func (p *Pair) TLSCertificate() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{p.cert.Raw}, PrivateKey: p.key, Leaf: p.cert}
}

// Serial returns the serial number in upper-case hexadecimal with an even
// number of digits, as "openssl x509 -serial" prints it.
func (p *Pair) Serial() string { return serialHex(p.cert) }

// Fingerprint returns the SHA-256 fingerprint of the certificate as
// colon-separated upper-case hex, as PBX admin pages and
// "openssl x509 -fingerprint -sha256" show it.
func (p *Pair) Fingerprint() string { return fingerprint(p.cert) }

func serialHex(c *x509.Certificate) string {
	if c.SerialNumber == nil {
		return ""
	}
	s := strings.ToUpper(c.SerialNumber.Text(16))
	if len(s)%2 == 1 {
		s = "0" + s
	}
	return s
}

func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	var b strings.Builder
	for i, x := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", x)
	}
	return b.String()
}

// String describes the pair without the key (the printing methods have
// value receivers so that a copied Pair is redacted too):
// "certgen.Pair{CN=ias01 serial=… key=rsa2048 [REDACTED]}".
func (p Pair) String() string {
	if p.cert == nil {
		return "certgen.Pair{}"
	}
	return fmt.Sprintf("certgen.Pair{CN=%s serial=%s not_after=%s key=%s %s}",
		p.cert.Subject.CommonName, p.Serial(), p.cert.NotAfter.UTC().Format("2006-01-02T15:04:05Z"), p.KeyType(), "[REDACTED]")
}

// GoString makes %#v print String's form.
func (p Pair) GoString() string { return p.String() }

// Format makes every fmt verb print String's form, never the key.
func (p Pair) Format(f fmt.State, _ rune) { fmt.Fprint(f, p.String()) }

// LogValue implements slog.LogValuer without the key.
func (p Pair) LogValue() slog.Value {
	if p.cert == nil {
		return slog.StringValue("certgen.Pair{}")
	}
	return slog.GroupValue(
		slog.String("cn", p.cert.Subject.CommonName),
		slog.String("serial", p.Serial()),
		slog.Time("not_after", p.cert.NotAfter),
		slog.String("key_type", string(p.KeyType())),
	)
}

// MarshalJSON writes the certificate's facts (the PEM certificate, CN,
// serial, fingerprint, key type, validity), never the key.
func (p Pair) MarshalJSON() ([]byte, error) {
	if p.cert == nil {
		return []byte("null"), nil
	}
	return json.Marshal(struct {
		Subject     string `json:"subject"`
		Serial      string `json:"serial"`
		Fingerprint string `json:"sha256_fingerprint"`
		KeyType     string `json:"key_type"`
		NotBefore   string `json:"not_before"`
		NotAfter    string `json:"not_after"`
		Certificate string `json:"certificate_pem"`
	}{
		p.cert.Subject.CommonName, p.Serial(), p.Fingerprint(), string(p.KeyType()),
		p.cert.NotBefore.UTC().Format("2006-01-02T15:04:05Z"), p.cert.NotAfter.UTC().Format("2006-01-02T15:04:05Z"),
		string(p.CertPEM()),
	})
}
