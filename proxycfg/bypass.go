package proxycfg

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Bypass decides which targets are reached without a proxy. It is built from
// NO_PROXY-style entries, matched case-insensitively with trailing dots
// removed:
//
//   - every target
//     example.com       example.com and all its subdomains
//     .example.com      subdomains of example.com only (*.example.com is the same)
//     192.0.2.10        that IP, compared parsed (::1 equals 0:0::1)
//     2001:db8::1       IPv6, with or without brackets ([2001:db8::1])
//     10.0.0.0/8        literal IP targets inside the prefix
//     host:443          any of the above (but CIDR) limited to one port;
//     [2001:db8::1]:443 IPv6 with a port is bracketed
//
// Names are never resolved to match an IP or CIDR entry: a target given as a
// name matches only name entries. There is no implicit entry: loopback
// targets are proxied unless listed ("localhost,127.0.0.0/8,::1").
//
// A Bypass is immutable and safe for concurrent use.
type Bypass struct {
	all     bool
	entries []bypassEntry
}

type bypassEntry struct {
	name    string // lower case, no trailing dot; "" for IP/CIDR entries
	subOnly bool   // ".example.com": subdomains only
	prefix  netip.Prefix
	port    int // 0: any port
}

// SplitBypass splits a NO_PROXY-style list ("a.com, .b.com 10.0.0.0/8")
// at commas and whitespace, dropping empty entries.
func SplitBypass(list string) []string {
	return strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

// NewBypass parses entries; it reports every invalid entry, naming its index.
func NewBypass(entries []string) (*Bypass, error) {
	b := &Bypass{}
	var errs []error
	for i, e := range entries {
		be, err := parseBypassEntry(e)
		if err != nil {
			errs = append(errs, &FieldError{Field: fmt.Sprintf("bypass[%d]", i), Problem: err.Error()})
			continue
		}
		if be == nil {
			b.all = true
			continue
		}
		b.entries = append(b.entries, *be)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return b, nil
}

// parseBypassEntry returns nil, nil for "*".
func parseBypassEntry(e string) (*bypassEntry, error) {
	s := strings.TrimSpace(e)
	switch {
	case s == "":
		return nil, errors.New("must not be empty")
	case hasCtl(s):
		return nil, errors.New("must not contain CR, LF or NUL")
	case strings.ContainsAny(s, " \t"):
		return nil, errors.New("must not contain whitespace")
	case s == "*":
		return nil, nil
	case strings.Contains(s, "://"):
		return nil, fmt.Errorf("must be a host, domain, IP or CIDR, not a URL: %q", s)
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("invalid CIDR %q", s)
		}
		return &bypassEntry{prefix: p.Masked()}, nil
	}
	bare := s
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		// "[2001:db8::1]": an IPv6 address written as in a URL.
		bare = s[1 : len(s)-1]
	}
	if ip, err := netip.ParseAddr(bare); err == nil && (bare == s || ip.Is6()) {
		return &bypassEntry{prefix: netip.PrefixFrom(ip.Unmap().WithZone(""), ip.Unmap().BitLen())}, nil
	}
	host, port := s, 0
	if h, p, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("port must be 1-65535 in %q", s)
		}
		host, port = h, n
		if ip, err := netip.ParseAddr(host); err == nil {
			return &bypassEntry{prefix: netip.PrefixFrom(ip.Unmap().WithZone(""), ip.Unmap().BitLen()), port: port}, nil
		}
	} else if strings.ContainsAny(s, "[]:") {
		return nil, fmt.Errorf("invalid host or host:port %q", s)
	}
	sub := false
	switch {
	case strings.HasPrefix(host, "*."):
		host, sub = host[2:], true
	case strings.HasPrefix(host, "."):
		host, sub = host[1:], true
	}
	if strings.Contains(host, "*") {
		return nil, fmt.Errorf("the only wildcards are \"*\" and a leading \"*.\", got %q", s)
	}
	if p := checkHostName(host); p != "" {
		return nil, fmt.Errorf("%s in %q", p, s)
	}
	return &bypassEntry{name: normName(host), subOnly: sub, port: port}, nil
}

func normName(h string) string { return strings.ToLower(strings.TrimSuffix(h, ".")) }

// Match reports whether addr ("host:port", or a bare host) bypasses the
// proxy. A nil *Bypass matches nothing.
func (b *Bypass) Match(addr string) bool {
	if b == nil {
		return false
	}
	if b.all {
		return true
	}
	if len(b.entries) == 0 {
		return false
	}
	host, port := addr, 0
	if h, p, err := net.SplitHostPort(addr); err == nil {
		host = h
		port, _ = strconv.Atoi(p)
	} else if strings.HasPrefix(addr, "[") && strings.HasSuffix(addr, "]") {
		host = addr[1 : len(addr)-1]
	}
	ip, ipErr := netip.ParseAddr(host)
	isIP := ipErr == nil
	if isIP {
		ip = ip.Unmap().WithZone("")
	}
	name := normName(host)
	for _, e := range b.entries {
		if e.port != 0 && e.port != port {
			continue
		}
		if e.name == "" {
			if isIP && e.prefix.Contains(ip) {
				return true
			}
			continue
		}
		if isIP {
			continue
		}
		if name == e.name && !e.subOnly {
			return true
		}
		if len(name) > len(e.name) && strings.HasSuffix(name, e.name) && name[len(name)-len(e.name)-1] == '.' {
			return true
		}
	}
	return false
}
