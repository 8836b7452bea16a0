package certgen

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// serialBytes is the length of the random serial number. RFC 5280
// §4.1.2.2 caps serials at 20 octets; clearing the top bit keeps the DER
// INTEGER positive without a leading zero octet, so it never exceeds 20.
// (Go's CreateCertificate would encode a 2^159..2^160 value in 21 octets.)
const serialBytes = 20

// Generate creates a new self-signed certificate and key for opts.Host:
//
//   - key: opts.KeyType (default RSA-2048);
//   - subject: CN = Host as written, O = Organization when set;
//   - SAN: DNS Host (lower case), FQDN, DNSNames; IP IPAddresses;
//   - serial: 20 random bytes, positive, at most 20 octets, new each call;
//   - NotBefore = now − ClockSkew (1 h), truncated to the second;
//     NotAfter from ValidityYears (calendar years, default 5) or Validity;
//   - KeyUsage DigitalSignature, plus KeyEncipherment for RSA;
//     ExtKeyUsage serverAuth and clientAuth (SIP over TLS is mutual);
//   - BasicConstraints CA:FALSE; SubjectKeyId = SHA-1 of the public key
//     (RFC 5280 §4.2.1.2 method 1); SHA-256 signature.
//
// It returns the validation errors of opts, joined, when opts is invalid.
func Generate(opts Options) (*Pair, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	key, err := opts.KeyType.generate()
	if err != nil {
		return nil, fmt.Errorf("certgen: generate %s key: %w", opts.KeyType, err)
	}
	return issue(opts, key)
}

// Renew creates a new pair replacing old: a new key, a new serial,
// NotBefore = now − ClockSkew (the new lifetime starts at the renewal, it
// does not extend the old NotAfter).
//
// With opts.Host empty the names are old's: Host from its CN, its SAN DNS
// names and IP addresses and its Organization (fields of opts that are
// set are used as given). With opts.Host set, the names all come from
// opts, as for Generate. An empty KeyType keeps old's key type when it is
// one Generate offers, else the default.
func Renew(old *Pair, opts Options) (*Pair, error) {
	if old == nil {
		return nil, fmt.Errorf("certgen: renew: no previous pair")
	}
	opts = inherit(old.cert, old.KeyType(), opts)
	return Generate(opts)
}

// inherit fills the empty name fields of opts from cert, as Renew
// documents.
func inherit(cert *x509.Certificate, kt KeyType, opts Options) Options {
	if opts.KeyType == "" && kt.Validate() == nil {
		opts.KeyType = kt
	}
	if opts.Host != "" {
		return opts
	}
	opts.Host = cert.Subject.CommonName
	if opts.Organization == "" && len(cert.Subject.Organization) > 0 {
		opts.Organization = cert.Subject.Organization[0]
	}
	if opts.DNSNames == nil && opts.FQDN == "" {
		for _, n := range cert.DNSNames {
			if !strings.EqualFold(n, opts.Host) {
				opts.DNSNames = append(opts.DNSNames, n)
			}
		}
	}
	if opts.IPAddresses == nil {
		for _, ip := range cert.IPAddresses {
			opts.IPAddresses = append(opts.IPAddresses, ip.String())
		}
	}
	return opts
}

// issue signs the certificate of key for the validated opts.
func issue(opts Options, key crypto.Signer) (*Pair, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	ski, err := subjectKeyID(key.Public())
	if err != nil {
		return nil, err
	}
	notBefore := opts.now().UTC().Add(-ClockSkew).Truncate(time.Second)
	subject := pkix.Name{CommonName: opts.Host}
	if opts.Organization != "" {
		subject.Organization = []string{opts.Organization}
	}
	usage := x509.KeyUsageDigitalSignature
	if _, ok := key.(*rsa.PrivateKey); ok {
		// RSA key exchange (TLS 1.0-1.2 static RSA suites, still offered
		// by older PBXs) encrypts with the key; ECDSA keys only sign.
		usage |= x509.KeyUsageKeyEncipherment
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             notBefore,
		NotAfter:              opts.notAfter(notBefore),
		KeyUsage:              usage,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  false,
		SubjectKeyId:          ski,
		DNSNames:              opts.sanDNSNames(),
		IPAddresses:           opts.sanIPs(),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("certgen: create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certgen: parse new certificate: %w", err)
	}
	return NewPair(cert, key)
}

// newSerial returns a random positive serial of at most 20 octets.
func newSerial() (*big.Int, error) {
	b := make([]byte, serialBytes)
	for {
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("certgen: serial: %w", err)
		}
		b[0] &= 0x7f
		if n := new(big.Int).SetBytes(b); n.Sign() > 0 {
			return n, nil
		}
	}
}

// subjectKeyID is the SHA-1 of the subjectPublicKey BIT STRING (RFC 5280
// §4.2.1.2, method 1), as mkcert and most CAs compute it.
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("certgen: subject key id: %w", err)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("certgen: subject key id: %w", err)
	}
	sum := sha1.Sum(spki.PublicKey.Bytes) // #nosec G401 -- RFC 5280 key identifier, not a security hash
	return sum[:], nil
}
