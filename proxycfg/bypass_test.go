package proxycfg

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBypassMatch(t *testing.T) {
	b, err := NewBypass([]string{"Example.COM.", ".corp.local", "*.svc", "10.0.0.0/8", "2001:db8::/32", "192.0.2.10", "::1", "mail.test:587", "[2001:db9::5]:25", "198.51.100.1:443", "[2001:dba::7]"})
	require.NoError(t, err)
	tests := []struct {
		addr string
		want bool
	}{
		{"example.com:443", true},
		{"EXAMPLE.com.:443", true},
		{"www.example.com:25", true},
		{"notexample.com:443", false},
		{"ample.com:443", false},
		{"corp.local:25", false},
		{"smtp.corp.local:25", true},
		{"a.b.svc:80", true},
		{"svc:80", false},
		{"10.1.2.3:25", true},
		{"11.1.2.3:25", false},
		{"[2001:db8:1::5]:443", true},
		{"[2001:0db8::0001]:1", true},
		{"192.0.2.10:1", true},
		{"[::ffff:192.0.2.10]:1", true},
		{"[0:0::1]:25", true},
		{"[::1]", true},
		{"mail.test:587", true},
		{"mail.test:25", false},
		{"[2001:db9::5]:25", true},
		{"[2001:db9::5]:26", false},
		{"198.51.100.1:443", true},
		{"198.51.100.1:80", false},
		{"[2001:dba::7]:443", true},
		{"[2001:dba::8]:443", false},
		// A name is never resolved to match an IP or CIDR entry.
		{"localhost:25", false},
		{"10.example:25", false},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			require.Equal(t, tc.want, b.Match(tc.addr))
		})
	}
	all, err := NewBypass([]string{"*"})
	require.NoError(t, err)
	require.True(t, all.Match("anything:1"))
	var none *Bypass
	require.False(t, none.Match("a:1"))
}

func TestBypassInvalid(t *testing.T) {
	_, err := NewBypass([]string{"ok", "http://x", "a*b", "[::1", "[10.0.0.1]", "h:0", "10.0.0.0/99", "a b", "bad!host"})
	require.EqualError(t, err, `bypass[1]: must be a host, domain, IP or CIDR, not a URL: "http://x"
bypass[2]: the only wildcards are "*" and a leading "*.", got "a*b"
bypass[3]: invalid host or host:port "[::1"
bypass[4]: invalid host or host:port "[10.0.0.1]"
bypass[5]: port must be 1-65535 in "h:0"
bypass[6]: invalid CIDR "10.0.0.0/99"
bypass[7]: must not contain whitespace
bypass[8]: must be a host name or IP address, got invalid character '!' in "bad!host"`)
}

func TestSplitBypass(t *testing.T) {
	require.Equal(t, []string{"a.com", ".b.com", "10.0.0.0/8", "::1"}, SplitBypass(" a.com,.b.com  10.0.0.0/8,,::1 "))
	require.Empty(t, SplitBypass(""))
}

func FuzzBypass(f *testing.F) {
	for _, s := range []string{"example.com", ".corp", "*.svc", "10.0.0.0/8", "::1", "[::1]:25", "h:25", "*", "a..b"} {
		f.Add(s, "www.example.com:25")
	}
	f.Fuzz(func(t *testing.T, entry, addr string) {
		b, err := NewBypass([]string{entry})
		if err != nil {
			return
		}
		b.Match(addr)
		// A valid entry matches itself written as a target when it names
		// one host (no wildcard, no CIDR, no leading dot).
		e, _ := parseBypassEntry(entry)
		if e != nil && e.name != "" && !e.subOnly && e.port == 0 && !b.Match(strings.TrimSpace(entry)+":1") {
			t.Fatalf("entry %q does not match its own host", entry)
		}
	})
}
