package sysparams

import (
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ucxkit/ucxkit/internal/fielderr"
)

// Telephony is the seed's "IP Telephony System Parameters" section. Any
// change to it requires restarting each service (Change.Restart reports
// RestartServices).
type Telephony struct {
	// SystemName is a free label that identifies the system. Mandatory;
	// at most 255 characters, no control characters. No default.
	SystemName string `json:"system_name"`
	// PBXAddress is the IP address or host name of the IP PBX, without a
	// port. Mandatory. No default.
	PBXAddress string `json:"pbx_address"`
}

// maxSystemName bounds the free label; the seed sets no limit, 255 keeps it
// a label rather than a document.
const maxSystemName = 255

// Validate reports every problem, with paths relative to the section.
func (t Telephony) Validate() error {
	var l fielderr.List
	switch name := strings.TrimSpace(t.SystemName); {
	case name == "":
		l.Add("system_name", "is mandatory")
	case utf8.RuneCountInString(t.SystemName) > maxSystemName:
		l.Add("system_name", "must be at most %d characters, got %d", maxSystemName, utf8.RuneCountInString(t.SystemName))
	case strings.IndexFunc(t.SystemName, unicode.IsControl) >= 0:
		l.Add("system_name", "must not contain control characters")
	}
	if t.PBXAddress == "" {
		l.Add("pbx_address", "is mandatory")
	} else if err := checkHost(t.PBXAddress); err != "" {
		l.Add("pbx_address", "%s", err)
	}
	return l.Err()
}

// checkHost accepts an IPv4 or IPv6 address (no brackets, no zone) or a DNS
// host name (RFC 1123 labels; underscores tolerated because Windows computer
// names carry them). It returns the problem, or "" when h is fine.
func checkHost(h string) string {
	if strings.TrimSpace(h) != h {
		return "must not have leading or trailing spaces"
	}
	if strings.ContainsAny(h, "/@?#") || strings.Contains(h, "://") {
		return "must be an IP address or host name, not a URL: " + quote(h)
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		if ip.Zone() != "" {
			return "must not carry an IPv6 zone"
		}
		return ""
	}
	if strings.HasPrefix(h, "[") || strings.Count(h, ":") > 1 {
		return "must be an IPv6 address without brackets or a host name, got " + quote(h)
	}
	if strings.Contains(h, ":") {
		return "must not include a port, got " + quote(h)
	}
	name := strings.TrimSuffix(h, ".")
	if len(name) > 253 {
		return "host name longer than 253 characters"
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return "must be an IP address or host name, got " + quote(h)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "host name labels must not start or end with '-', got " + quote(h)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "must be an IP address or host name, got " + quote(h)
			}
		}
	}
	return ""
}

// quote shows a user value in an error message, shortened so that a pasted
// document cannot flood a log.
func quote(s string) string {
	const max = 80
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strconvQuote(s)
}
