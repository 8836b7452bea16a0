package certgen

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ucxkit/ucxkit/internal/fielderr"
)

// Defaults and limits of Options.
const (
	// DefaultValidityYears is the seed's lifetime: "the digital certificate
	// will last 5 years from the day it was generated".
	DefaultValidityYears = 5
	// MaxValidityYears bounds ValidityYears and Validity. Thirty years is
	// far beyond any PBX's expectations while staying clear of the
	// year-2049/2050 UTCTime/GeneralizedTime switch trouble of old parsers.
	MaxValidityYears = 30
	// MinValidity is the shortest Validity accepted: less than a day would
	// be consumed by the NotBefore clock skew and the renewal window.
	MinValidity = 24 * time.Hour
	// ClockSkew is subtracted from the current time to get NotBefore, so a
	// peer whose clock runs a little behind accepts a certificate generated
	// a moment ago.
	ClockSkew = time.Hour
	// maxNameLen is the longest DNS name (RFC 1035 §2.3.4, without the
	// trailing dot); maxLabelLen the longest label.
	maxNameLen  = 253
	maxLabelLen = 63
	// maxCNLen is ub-common-name and ub-organization-name (RFC 5280
	// Appendix A.1).
	maxCNLen = 64
)

// Options describe the certificate Generate creates and the checks Ensure
// and CheckPair apply. The zero value is invalid only because Host is
// required; every other field has a documented default.
//
// Its JSON form uses the field tags below; Validity and RenewalWindow are
// strings: a whole number of days ("825d"), a Go duration ("720h"), or
// both ("1d12h").
type Options struct {
	// Host is the computer name (required). It becomes the subject CN as
	// written (CUCM matches the subject or a SAN) and, in lower case, the
	// first SAN DNS name. Letters, digits, '-' and '_' (Windows computer
	// names allow underscores), dot-separated labels of at most 63
	// characters; never a wildcard and never an IP address (use
	// IPAddresses).
	Host string `json:"host"`
	// FQDN is the fully qualified DNS name of the host, added in lower case
	// to the SAN DNS names. Empty: none.
	FQDN string `json:"fqdn,omitempty"`
	// DNSNames are further SAN DNS names (aliases), same syntax as Host,
	// stored in lower case; duplicates are dropped. Wildcards are refused:
	// PBXs such as CUCM reject wildcard certificates.
	DNSNames []string `json:"dns_names,omitempty"`
	// IPAddresses are optional SAN IP addresses, IPv4 or IPv6 without
	// brackets or zone ("10.0.0.5", "2001:db8::5").
	IPAddresses []string `json:"ip_addresses,omitempty"`
	// Organization is the subject O. Empty: no O attribute.
	Organization string `json:"organization,omitempty"`
	// KeyType is the key algorithm and size. Empty: KeyRSA2048.
	KeyType KeyType `json:"key_type,omitempty"`
	// ValidityYears is the lifetime in calendar years:
	// NotAfter = NotBefore.AddDate(ValidityYears, 0, 0), so a certificate
	// starting 2024-02-29 ends 2029-03-01 (Go normalises the missing Feb
	// 29), never 365×5 days. 0 means DefaultValidityYears (5) unless
	// Validity is set; at most MaxValidityYears.
	ValidityYears int `json:"validity_years,omitempty"`
	// Validity is an exact lifetime (NotAfter = NotBefore + Validity), for
	// peers with a limit in days: Apple clients refuse TLS server
	// certificates valid for more than 825 days (use "825d"). Set either
	// Validity or ValidityYears, not both. 0: use ValidityYears.
	Validity time.Duration `json:"-"`
	// RenewalWindow is how long before NotAfter a certificate counts as
	// expiring. 0 means the last third of the certificate's lifetime
	// (20 months of a 5-year certificate). Must be shorter than the
	// lifetime.
	RenewalWindow time.Duration `json:"-"`
	// RegenerateOnRename makes Ensure replace a certificate that does not
	// name Host, FQDN, DNSNames or IPAddresses (the computer was renamed)
	// with a new one. false (the default) only reports the mismatch in the
	// Status, because a new certificate breaks the PBX's trust until the
	// admin uploads it.
	RegenerateOnRename bool `json:"regenerate_on_rename,omitempty"`
	// Now returns the current time. nil: time.Now.
	Now func() time.Time `json:"-"`
	// Logger receives warnings about repaired or replaced files. nil:
	// silent. Keys are never logged.
	Logger *slog.Logger `json:"-"`
}

// optionsJSON is the JSON form of Options.
type optionsJSON struct {
	Host               string   `json:"host"`
	FQDN               string   `json:"fqdn,omitempty"`
	DNSNames           []string `json:"dns_names,omitempty"`
	IPAddresses        []string `json:"ip_addresses,omitempty"`
	Organization       string   `json:"organization,omitempty"`
	KeyType            KeyType  `json:"key_type,omitempty"`
	ValidityYears      int      `json:"validity_years,omitempty"`
	Validity           string   `json:"validity,omitempty"`
	RenewalWindow      string   `json:"renewal_window,omitempty"`
	RegenerateOnRename bool     `json:"regenerate_on_rename,omitempty"`
}

// MarshalJSON writes the documented JSON form.
func (o Options) MarshalJSON() ([]byte, error) {
	return json.Marshal(optionsJSON{
		Host: o.Host, FQDN: o.FQDN, DNSNames: o.DNSNames, IPAddresses: o.IPAddresses,
		Organization: o.Organization, KeyType: o.KeyType, ValidityYears: o.ValidityYears,
		Validity: formatDuration(o.Validity), RenewalWindow: formatDuration(o.RenewalWindow),
		RegenerateOnRename: o.RegenerateOnRename,
	})
}

// UnmarshalJSON reads the documented JSON form. Now and Logger are left
// as they were.
func (o *Options) UnmarshalJSON(b []byte) error {
	var j optionsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("certgen: options: %w", err)
	}
	var l fielderr.List
	validity, err := parseDuration(j.Validity)
	if err != nil {
		l.Add("validity", "%v", err)
	}
	window, err := parseDuration(j.RenewalWindow)
	if err != nil {
		l.Add("renewal_window", "%v", err)
	}
	if err := l.Err(); err != nil {
		return fmt.Errorf("certgen: %w", err)
	}
	o.Host, o.FQDN, o.DNSNames, o.IPAddresses = j.Host, j.FQDN, j.DNSNames, j.IPAddresses
	o.Organization, o.KeyType, o.ValidityYears = j.Organization, j.KeyType, j.ValidityYears
	o.Validity, o.RenewalWindow, o.RegenerateOnRename = validity, window, j.RegenerateOnRename
	return nil
}

// parseDuration reads "", "<n>d", a Go duration, or "<n>d<go duration>".
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	bad := fmt.Errorf("must be a duration such as \"825d\", \"720h\" or \"1d12h\", got %q", s)
	rest := s
	var total time.Duration
	if i := strings.IndexByte(rest, 'd'); i >= 0 {
		days, err := strconv.Atoi(rest[:i])
		if err != nil || days < 0 || rest[0] == '+' || days > MaxValidityYears*366 {
			return 0, bad
		}
		total = time.Duration(days) * 24 * time.Hour
		rest = rest[i+1:]
	}
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 || rest[0] == '-' || rest[0] == '+' || d > time.Duration(MaxValidityYears*366)*24*time.Hour {
			return 0, bad
		}
		total += d
	}
	return total, nil
}

// formatDuration writes "<n>d" for whole days, else the Go form; "" for 0.
func formatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == 0:
		return ""
	case d > 0 && d%day == 0:
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return d.String()
}

// Validate checks every field and reports every problem at once, each
// naming its JSON field ("dns_names[1]: must not be a wildcard ...").
func (o Options) Validate() error {
	var l fielderr.List
	if o.Host == "" {
		l.Add("host", "is mandatory (the computer name)")
	} else if err := checkName(o.Host); err != nil {
		l.Add("host", "%v", err)
	} else if len(o.Host) > maxCNLen {
		l.Add("host", "must be at most %d characters (the subject CN limit), got %d", maxCNLen, len(o.Host))
	}
	if o.FQDN != "" {
		if err := checkName(o.FQDN); err != nil {
			l.Add("fqdn", "%v", err)
		}
	}
	for i, n := range o.DNSNames {
		if err := checkName(n); err != nil {
			l.Add(fmt.Sprintf("dns_names[%d]", i), "%v", err)
		}
	}
	for i, s := range o.IPAddresses {
		if _, err := parseIP(s); err != nil {
			l.Add(fmt.Sprintf("ip_addresses[%d]", i), "%v", err)
		}
	}
	if n := utf8.RuneCountInString(o.Organization); !utf8.ValidString(o.Organization) {
		l.Add("organization", "must be valid UTF-8")
	} else if n > maxCNLen {
		l.Add("organization", "must be at most %d characters, got %d", maxCNLen, n)
	} else if strings.IndexFunc(o.Organization, isControl) >= 0 {
		l.Add("organization", "must not contain control characters")
	}
	if err := o.KeyType.Validate(); err != nil {
		l.Add("key_type", "%v", err)
	}
	switch {
	case o.ValidityYears < 0 || o.ValidityYears > MaxValidityYears:
		l.Add("validity_years", "must be 1-%d, got %d", MaxValidityYears, o.ValidityYears)
	case o.ValidityYears != 0 && o.Validity != 0:
		l.Add("validity", "set either validity or validity_years, not both")
	}
	maxValidity := time.Duration(MaxValidityYears*365) * 24 * time.Hour
	if o.Validity != 0 && (o.Validity < MinValidity || o.Validity > maxValidity) {
		l.Add("validity", "must be between %s and %s, got %s", formatDuration(MinValidity), formatDuration(maxValidity), o.Validity)
	}
	if o.RenewalWindow < 0 {
		l.Add("renewal_window", "must not be negative, got %s", o.RenewalWindow)
	} else if o.RenewalWindow > 0 && o.RenewalWindow >= o.minLifetime() {
		l.Add("renewal_window", "must be shorter than the certificate lifetime (%s), got %s", formatDuration(o.minLifetime()), formatDuration(o.RenewalWindow))
	}
	return l.Err()
}

// minLifetime is the shortest lifetime the validity settings can give
// (calendar years are at least 365 days).
func (o Options) minLifetime() time.Duration {
	if o.Validity > 0 {
		return o.Validity
	}
	years := o.ValidityYears
	if years <= 0 {
		years = DefaultValidityYears
	}
	return time.Duration(years*365) * 24 * time.Hour
}

// notAfter computes NotAfter from NotBefore.
func (o Options) notAfter(notBefore time.Time) time.Time {
	if o.Validity > 0 {
		return notBefore.Add(o.Validity)
	}
	years := o.ValidityYears
	if years <= 0 {
		years = DefaultValidityYears
	}
	return notBefore.AddDate(years, 0, 0)
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// sanDNSNames returns the lower-cased, de-duplicated SAN DNS names: Host,
// FQDN, then DNSNames in order.
func (o Options) sanDNSNames() []string {
	var out []string
	seen := map[string]bool{}
	add := func(n string) {
		n = strings.ToLower(n)
		if n == "" || seen[n] {
			return
		}
		seen[n] = true
		out = append(out, n)
	}
	add(o.Host)
	add(o.FQDN)
	for _, n := range o.DNSNames {
		add(n)
	}
	return out
}

// sanIPs returns the parsed, de-duplicated SAN IP addresses (Validate has
// accepted them).
func (o Options) sanIPs() []net.IP {
	var out []net.IP
	seen := map[netip.Addr]bool{}
	for _, s := range o.IPAddresses {
		a, err := parseIP(s)
		if err != nil || seen[a] {
			continue
		}
		seen[a] = true
		out = append(out, net.IP(a.AsSlice()))
	}
	return out
}

// parseIP accepts an IPv4 or IPv6 address without brackets, zone or port.
// IPv4-mapped IPv6 addresses are stored as IPv4.
func parseIP(s string) (netip.Addr, error) {
	if strings.HasPrefix(s, "[") {
		return netip.Addr{}, fmt.Errorf("must be an IP address without brackets, got %q", s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("must be an IPv4 or IPv6 address, got %q", s)
	}
	if a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("must not carry an IPv6 zone, got %q", s)
	}
	return a.Unmap(), nil
}

// checkName validates a computer or DNS name: ASCII letters, digits, '-'
// and '_' in dot-separated labels of 1-63 characters, at most 253 in all,
// no label starting or ending with '-'.
func checkName(n string) error {
	switch {
	case strings.Contains(n, "*"):
		return fmt.Errorf("must not be a wildcard (PBXs such as CUCM reject wildcard certificates), got %q", n)
	case strings.HasSuffix(n, "."):
		return fmt.Errorf("must not end with a dot, got %q", n)
	case len(n) > maxNameLen:
		return fmt.Errorf("must be at most %d characters, got %d", maxNameLen, len(n))
	}
	if _, err := netip.ParseAddr(n); err == nil {
		return fmt.Errorf("must be a name, not an IP address (list addresses in ip_addresses), got %q", n)
	}
	for _, label := range strings.Split(n, ".") {
		if label == "" {
			return fmt.Errorf("must not contain an empty label, got %q", n)
		}
		if len(label) > maxLabelLen {
			return fmt.Errorf("labels must be at most %d characters, got %d in %q", maxLabelLen, len(label), n)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("labels must not start or end with '-', got %q", n)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
				continue
			}
			if c >= utf8.RuneSelf {
				return fmt.Errorf("must be ASCII (write internationalized names in punycode, xn--...), got %q", n)
			}
			return fmt.Errorf("may contain only letters, digits, '-', '_' and dots, got %q in %q", string(c), n)
		}
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }
