package mailqueue

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/ucxkit/ucxkit/internal/fielderr"
)

// DefaultDKIMHeaderKeys are the header fields signed by default (RFC 6376
// §5.4.1 recommendations that the builder writes, plus the MIME fields).
var DefaultDKIMHeaderKeys = []string{
	"From", "Reply-To", "Subject", "Date", "Message-ID", "To", "Cc",
	"MIME-Version", "Content-Type", "Content-Transfer-Encoding",
}

// DKIMConfig configures DKIM signing (RFC 6376) of messages at enqueue, so
// that every retry sends the identical signed bytes.
type DKIMConfig struct {
	// Domain is the signing domain (d=). Required.
	Domain string `json:"domain"`
	// Selector is the key selector (s=); the public key is published at
	// <selector>._domainkey.<domain>. Required.
	Selector string `json:"selector"`
	// PrivateKeyFile is a PEM file holding an RSA (PKCS#1 or PKCS#8) or
	// Ed25519 (PKCS#8) private key. It must not be readable by group or
	// others. Required unless PrivateKey is set.
	PrivateKeyFile string `json:"private_key_file,omitempty"`
	// PrivateKey is the signing key, used instead of PrivateKeyFile.
	PrivateKey crypto.Signer `json:"-"`
	// HeaderKeys lists the signed header fields; nil means
	// DefaultDKIMHeaderKeys. It must include From.
	HeaderKeys []string `json:"header_keys,omitempty"`
	// Expiration adds an x= tag this long after signing. Zero means no x=
	// tag. A signature must stay valid while the message may still be
	// retried, so a non-zero Expiration shorter than MaxLifetime is refused.
	Expiration time.Duration `json:"-"`
	// MaxLifetime is the queue's message lifetime (Config.MaxLifetime of
	// the queue); zero means DefaultMaxLifetime.
	MaxLifetime time.Duration `json:"-"`
	// Now returns the signing time; nil means time.Now.
	Now func() time.Time `json:"-"`
}

// DKIMSigner signs finished messages. It is safe for concurrent use.
type DKIMSigner struct {
	// opts (without Signer) and key are behind pointers, and the key
	// behind a pointer to an interface, so that printing a DKIMSigner
	// through reflection (an unexported field of another struct, where no
	// Format method runs) shows addresses, never key bytes.
	opts *dkim.SignOptions
	key  *crypto.Signer
	exp  time.Duration
	now  func() time.Time
}

// minRSABits is the smallest RSA key accepted: RFC 8301 §3.2 says signers
// MUST use at least 1024 bits and SHOULD use 2048.
const minRSABits = 1024

// NewDKIMSigner validates cfg, loads the key and returns a signer. Problems
// are reported per field ("dkim.selector: is required").
func NewDKIMSigner(cfg DKIMConfig) (*DKIMSigner, error) {
	var l fielderr.List
	if cfg.Domain == "" {
		l.Add("domain", "is required")
	} else if strings.ContainsAny(cfg.Domain, " ;=\t\r\n") {
		l.Add("domain", "must be a DNS name, got %q", cfg.Domain)
	}
	if cfg.Selector == "" {
		l.Add("selector", "is required")
	} else if strings.ContainsAny(cfg.Selector, " ;=\t\r\n") {
		l.Add("selector", "must be a DNS label, got %q", cfg.Selector)
	}
	life := cfg.MaxLifetime
	if life == 0 {
		life = DefaultMaxLifetime
	}
	if cfg.Expiration < 0 {
		l.Add("expiration", "must not be negative, got %v", cfg.Expiration)
	} else if cfg.Expiration > 0 && cfg.Expiration < life {
		l.Add("expiration", "must be at least the queue's max lifetime %v (a retried message would carry an expired signature), got %v", life, cfg.Expiration)
	}
	keys := cfg.HeaderKeys
	if keys == nil {
		keys = DefaultDKIMHeaderKeys
	}
	hasFrom := false
	for _, k := range keys {
		if strings.EqualFold(k, "From") {
			hasFrom = true
		}
		if !msgValidFieldName(k) {
			l.Add("header_keys", "invalid header field name %q", k)
		}
	}
	if !hasFrom {
		l.Add("header_keys", "must include From (RFC 6376 §5.4)")
	}
	key := cfg.PrivateKey
	switch {
	case key != nil:
	case cfg.PrivateKeyFile == "":
		l.Add("private_key_file", "is required")
	default:
		k, err := loadDKIMKey(cfg.PrivateKeyFile)
		if err != nil {
			l.Add("private_key_file", "%v", err)
		}
		key = k
	}
	if key != nil {
		switch pub := key.Public().(type) {
		case *rsa.PublicKey:
			if pub.N.BitLen() < minRSABits {
				l.Add("private_key_file", "RSA key has %d bits, at least %d required (RFC 8301)", pub.N.BitLen(), minRSABits)
			}
		case ed25519.PublicKey:
		default:
			l.Add("private_key_file", "key type %T is not supported; use RSA or Ed25519", pub)
		}
	}
	if err := l.Err(); err != nil {
		return nil, fielderr.Prefix("dkim", err)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &DKIMSigner{
		opts: &dkim.SignOptions{
			Domain:                 cfg.Domain,
			Selector:               cfg.Selector,
			Hash:                   crypto.SHA256,
			HeaderCanonicalization: dkim.CanonicalizationRelaxed,
			BodyCanonicalization:   dkim.CanonicalizationRelaxed,
			HeaderKeys:             append([]string(nil), keys...),
		},
		key: &key,
		exp: cfg.Expiration,
		now: now,
	}, nil
}

// loadDKIMKey reads a PEM private key, refusing files others can read.
func loadDKIMKey(path string) (crypto.Signer, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cannot be read: %w", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("must not be accessible by group or others (mode %04o); chmod 600 %s", fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot be read: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("holds no PEM block")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("invalid PKCS#8 key: %w", err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("key type %T cannot sign", k)
		}
		return s, nil
	}
	return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
}

// Sign returns msg with a DKIM-Signature field prepended. Sign it once,
// before Enqueue: the spool then holds the signed bytes and every retry
// sends them unchanged.
func (s *DKIMSigner) Sign(msg []byte) ([]byte, error) {
	if s == nil || s.opts == nil || s.key == nil {
		return nil, errors.New("mailqueue: dkim sign: signer not created with NewDKIMSigner")
	}
	opts := *s.opts
	opts.Signer = *s.key
	if s.exp > 0 {
		opts.Expiration = s.now().Add(s.exp)
	}
	var out bytes.Buffer
	out.Grow(len(msg) + 512)
	if err := dkim.Sign(&out, bytes.NewReader(msg), &opts); err != nil {
		return nil, fmt.Errorf("mailqueue: dkim sign: %w", err)
	}
	return out.Bytes(), nil
}

// dkimKeyPlaceholder stands in for a private key when a DKIMConfig is
// printed.
type dkimKeyPlaceholder struct{ crypto.Signer }

// String names the placeholder.
func (dkimKeyPlaceholder) String() string { return "[REDACTED]" }

// plainDKIMConfig is DKIMConfig without methods, for printing its fields.
type plainDKIMConfig DKIMConfig

// Format prints the fields of c with the private key shown as [REDACTED],
// for every verb: %v, %+v and %#v as for a struct, any other verb as %v.
// Without it %v would print an Ed25519 key's bytes, and a bad verb (%s on
// a nested *DKIMConfig) an RSA key's D and primes.
func (c DKIMConfig) Format(f fmt.State, verb rune) {
	p := plainDKIMConfig(c)
	if p.PrivateKey != nil {
		p.PrivateKey = dkimKeyPlaceholder{}
	}
	switch {
	case verb == 'v' && f.Flag('#'):
		io.WriteString(f, strings.Replace(fmt.Sprintf("%#v", p), "mailqueue.plainDKIMConfig", "mailqueue.DKIMConfig", 1))
	case verb == 'v' && f.Flag('+'):
		fmt.Fprintf(f, "%+v", p)
	default:
		fmt.Fprintf(f, "%v", p)
	}
}

// String describes the signer without its key: "dkim d=example.com
// s=sel a=rsa-sha256".
func (s DKIMSigner) String() string {
	if s.opts == nil || s.key == nil {
		return "dkim (unconfigured)"
	}
	algo := "rsa-sha256"
	if _, ok := (*s.key).Public().(ed25519.PublicKey); ok {
		algo = "ed25519-sha256"
	}
	return "dkim d=" + s.opts.Domain + " s=" + s.opts.Selector + " a=" + algo
}

// Format prints String() for every verb, so that no path of the fmt
// package reaches the key.
func (s DKIMSigner) Format(f fmt.State, verb rune) { io.WriteString(f, s.String()) }
