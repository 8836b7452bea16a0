package sysparams

import (
	"net/netip"
	"path/filepath"

	"github.com/ucxkit/ucxkit/internal/fielderr"
)

// Certificate key types, as the certificate generator names them.
const (
	KeyRSA2048   = "rsa2048"
	KeyRSA3072   = "rsa3072"
	KeyRSA4096   = "rsa4096"
	KeyECDSAP256 = "ecdsa-p256"
)

// DefaultCertFolder is where the certificate pair is kept when Folder is
// empty, relative to the folder the host passes (usually the folder of the
// parameter file).
const DefaultCertFolder = "certs"

// Certificate is the seed's "Secure Communications Certificate": the
// self-signed certificate for the computer name that is uploaded to the PBX.
type Certificate struct {
	// KeyType is "rsa2048" (default, widest PBX support), "rsa3072",
	// "rsa4096" or "ecdsa-p256".
	KeyType string `json:"key_type"`
	// ValidityYears is the lifetime in calendar years, 1-10. Default 5
	// (the seed).
	ValidityYears int `json:"validity_years"`
	// ExtraNames are more subject alternative names: DNS names or IP
	// addresses, besides the computer name. Default none. No wildcards.
	ExtraNames []string `json:"extra_names,omitempty"`
	// Folder holds cert.pem and key.pem. Empty means DefaultCertFolder; a
	// relative folder is resolved against the base folder given to
	// EnsureCertificate.
	Folder string `json:"folder"`
}

// maxValidityYears bounds the lifetime; the seed uses 5 and PBXs accept
// longer, but beyond 10 years a key outlives any sane rotation policy.
const maxValidityYears = 10

// Validate reports every problem, with paths relative to the section.
func (c Certificate) Validate() error {
	var l fielderr.List
	switch c.KeyType {
	case KeyRSA2048, KeyRSA3072, KeyRSA4096, KeyECDSAP256:
	default:
		l.Add("key_type", "must be rsa2048, rsa3072, rsa4096 or ecdsa-p256, got %s", quote(c.KeyType))
	}
	if c.ValidityYears < 1 || c.ValidityYears > maxValidityYears {
		l.Add("validity_years", "must be 1-%d, got %d", maxValidityYears, c.ValidityYears)
	}
	for i, n := range c.ExtraNames {
		if _, err := netip.ParseAddr(n); err == nil {
			continue
		}
		if len(n) > 0 && n[0] == '*' {
			l.Add(fieldIndex("extra_names", i), "wildcards are not allowed (PBXs reject them), got %s", quote(n))
			continue
		}
		if p := checkHost(n); p != "" {
			l.Add(fieldIndex("extra_names", i), "%s", p)
		}
	}
	return l.Err()
}

// Dir returns the certificate folder resolved against base.
func (c Certificate) Dir(base string) string {
	f := c.Folder
	if f == "" {
		f = DefaultCertFolder
	}
	if filepath.IsAbs(f) {
		return f
	}
	return filepath.Join(base, f)
}
