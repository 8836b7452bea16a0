package sysparams

import (
	"net/netip"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/ucxkit/ucxkit/certgen"
	"github.com/ucxkit/ucxkit/internal/fielderr"
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
	KeyType certgen.KeyType `json:"key_type"`
	// ValidityYears is the lifetime in calendar years (NotAfter =
	// NotBefore + N years), 1-30. Default 5 (the seed).
	ValidityYears int `json:"validity_years"`
	// Organization is the subject O. Default none.
	Organization string `json:"organization,omitempty"`
	// RegenerateOnRename makes EnsureCertificate replace a certificate that
	// does not name the computer (renamed host). Default false: the
	// mismatch is only reported, since a new certificate must be uploaded
	// to the PBX again.
	RegenerateOnRename bool `json:"regenerate_on_rename,omitempty"`
	// ExtraNames are more subject alternative names: DNS names or IP
	// addresses, besides the computer name. Default none. No wildcards.
	ExtraNames []string `json:"extra_names,omitempty"`
	// Folder holds cert.pem and key.pem. Empty means DefaultCertFolder; a
	// relative folder is resolved against the base folder given to
	// EnsureCertificate.
	Folder string `json:"folder"`
}

// Validate reports every problem, with paths relative to the section.
func (c Certificate) Validate() error {
	var l fielderr.List
	if err := c.KeyType.Validate(); err != nil {
		l.Add("key_type", "%v", err)
	}
	if c.ValidityYears < 1 || c.ValidityYears > certgen.MaxValidityYears {
		l.Add("validity_years", "must be 1-%d, got %d", certgen.MaxValidityYears, c.ValidityYears)
	}
	if strings.IndexFunc(c.Organization, unicode.IsControl) >= 0 {
		l.Add("organization", "must not contain control characters")
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
