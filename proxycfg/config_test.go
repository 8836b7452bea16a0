package proxycfg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidate(t *testing.T) {
	long := strings.Repeat("é", 128) // 256 bytes, 128 runes
	tests := []struct {
		name string
		cfg  Config
		want []string // every expected problem, in order
	}{
		{"zero value", Config{}, nil},
		{"http ok", Config{HTTP: HTTPProxy{Address: "proxy.corp", Port: 3128, Username: "u", Password: NewSecret("p")}}, nil},
		{"ipv6 plain ok", Config{HTTP: HTTPProxy{Address: "2001:db8::1", Port: 3128}}, nil},
		{"special characters ok", Config{
			HTTP:  HTTPProxy{Address: "10.0.0.2", Port: 3128, Username: "us@er/?#% x", Password: NewSecret("p@ss:w/o?r#d %é")},
			SOCKS: SOCKSProxy{Version: 5, Address: "socks.corp.", Port: 1080, Username: "a:b@c", Password: NewSecret("p@ss:w")},
		}, nil},
		{"socks4 user-id only", Config{SOCKS: SOCKSProxy{Version: 4, Address: "s", Port: 1080, Username: "alice"}}, nil},
		{"socks version zero is 5", Config{SOCKS: SOCKSProxy{Address: "s", Port: 1080}}, nil},
		{"port without address", Config{HTTP: HTTPProxy{Port: 3128}},
			[]string{"http.address: is mandatory when port, username or password is set"}},
		{"address without port", Config{SOCKS: SOCKSProxy{Version: 5, Address: "s"}},
			[]string{"socks.port: is mandatory when address is set"}},
		{"port range", Config{HTTP: HTTPProxy{Address: "p", Port: 70000}, SOCKS: SOCKSProxy{Address: "s", Port: -1}},
			[]string{"http.port: must be 1-65535, got 70000", "socks.port: must be 1-65535, got -1"}},
		{"scheme in address", Config{HTTP: HTTPProxy{Address: "http://p", Port: 1}},
			[]string{"http.address: must be a host name or IP address without a scheme (set tls for an https proxy)"}},
		{"port in address", Config{HTTP: HTTPProxy{Address: "p:3128", Port: 1}},
			[]string{"http.address: must not include a port; use the port field"}},
		{"userinfo in address", Config{HTTP: HTTPProxy{Address: "u@p", Port: 1}},
			[]string{"http.address: must not contain user info; use username and password"}},
		{"brackets", Config{HTTP: HTTPProxy{Address: "[::1]", Port: 1}},
			[]string{"http.address: must not have brackets; write an IPv6 address plain"}},
		{"whitespace", Config{HTTP: HTTPProxy{Address: "a b", Port: 1}},
			[]string{"http.address: must not contain whitespace"}},
		{"path", Config{HTTP: HTTPProxy{Address: "p/x", Port: 1}},
			[]string{"http.address: must be a host name or IP address, not a URL"}},
		{"bad char", Config{HTTP: HTTPProxy{Address: "p!x", Port: 1}},
			[]string{`http.address: must be a host name or IP address, got invalid character '!'`}},
		{"username needs password", Config{HTTP: HTTPProxy{Address: "p", Port: 1, Username: "u"}, SOCKS: SOCKSProxy{Address: "s", Port: 1, Username: "u"}},
			[]string{"http.password: is mandatory when username is set", "socks.password: is mandatory when username is set"}},
		{"password needs username", Config{HTTP: HTTPProxy{Address: "p", Port: 1, Password: NewSecret("x")}},
			[]string{"http.username: is mandatory when password is set"}},
		{"colon in http username", Config{HTTP: HTTPProxy{Address: "p", Port: 1, Username: "a:b", Password: NewSecret("x")}},
			[]string{"http.username: must not contain ':' (RFC 7617 Basic authentication)"}},
		{"socks5 lengths in bytes", Config{SOCKS: SOCKSProxy{Version: 5, Address: "s", Port: 1, Username: long, Password: NewSecret(long)}},
			[]string{"socks.username: must be 1-255 bytes for SOCKS5 (RFC 1929), got 256", "socks.password: must be 1-255 bytes for SOCKS5 (RFC 1929), got 256"}},
		{"socks5 255 bytes ok", Config{SOCKS: SOCKSProxy{Version: 5, Address: "s", Port: 1, Username: strings.Repeat("u", 255), Password: NewSecret(strings.Repeat("p", 255))}}, nil},
		{"socks4 password", Config{SOCKS: SOCKSProxy{Version: 4, Address: "s", Port: 1, Username: "u", Password: NewSecret("p")}},
			[]string{"socks.password: SOCKS4 cannot carry a password; use version 5 for username/password authentication"}},
		{"socks version", Config{SOCKS: SOCKSProxy{Version: 6, Address: "s", Port: 1}},
			[]string{"socks.version: must be 4 or 5, got 6"}},
		{"socks resolve", Config{SOCKS: SOCKSProxy{Address: "s", Port: 1, Resolve: "remote"}},
			[]string{`socks.resolve: must be "proxy", "local" or empty, got "remote"`}},
		{"CR LF NUL", Config{HTTP: HTTPProxy{Address: "p", Port: 1, Username: "a\r\nb", Password: NewSecret("x\x00")}, SOCKS: SOCKSProxy{Address: "s\n", Port: 1}},
			[]string{"http.username: must not contain CR, LF or NUL", "http.password: must not contain CR, LF or NUL", "socks.address: must not contain CR, LF or NUL"}},
		{"ca_file without tls", Config{HTTP: HTTPProxy{Address: "p", Port: 1, CAFile: "/x"}},
			[]string{"http.ca_file: is only used with tls: true"}},
		{"bypass entries", Config{Bypass: []string{"ok.com", "", "10.0.0.0/33", "a\nb"}},
			[]string{"bypass[1]: must not be empty", `bypass[2]: invalid CIDR "10.0.0.0/33"`, "bypass[3]: must not contain CR, LF or NUL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Equal(t, strings.Join(tc.want, "\n"), err.Error())
			var fe *FieldError
			require.True(t, errors.As(err, &fe))
			require.NotContains(t, err.Error(), "p@ss")
		})
	}
}

func TestString(t *testing.T) {
	c := Config{
		HTTP:   HTTPProxy{Address: "proxy.corp", Port: 3128, Username: "us@er", Password: NewSecret("p@ss:w/o?r#d %é")},
		SOCKS:  SOCKSProxy{Version: 4, Address: "2001:db8::1", Port: 1080, Username: "alice"},
		Bypass: []string{"localhost", ".corp"},
	}
	require.Equal(t, "http://us%40er:xxxxx@proxy.corp:3128 socks4://alice@[2001:db8::1]:1080 bypass=localhost,.corp", c.String())
	require.Equal(t, "direct", Config{}.String())
	require.Equal(t, "https://proxy:443", HTTPProxy{Address: "proxy", Port: 443, TLS: true}.String())
	require.Equal(t, "socks5://u:xxxxx@s:1", SOCKSProxy{Address: "s", Port: 1, Username: "u", Password: NewSecret("p"), Resolve: ResolveLocal}.String())
	require.Equal(t, "socks4a://s:1", SOCKSProxy{Version: 4, Address: "s", Port: 1, Resolve: ResolveProxy}.String())
}

// TestSecretsNeverPrint formats every config type every way a program might
// and proves the password never appears.
func TestSecretsNeverPrint(t *testing.T) {
	const pw1, pw2 = "p@ss:w/o?r#d %é-1", "hunter2-socks"
	c := Config{
		HTTP:  HTTPProxy{Address: "proxy", Port: 3128, Username: "u", Password: NewSecret(pw1)},
		SOCKS: SOCKSProxy{Version: 5, Address: "s", Port: 1080, Username: "u", Password: NewSecret(pw2)},
	}
	d1, err := c.HTTP.connectDialer(nil)
	require.NoError(t, err)
	d2 := c.SOCKS.dialer(nil)
	var out []string
	for _, v := range []any{c, &c, c.HTTP, c.SOCKS, &c.HTTP, d1, d2} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			out = append(out, fmt.Sprintf(verb, v))
		}
	}
	for _, v := range []any{c, &c, c.HTTP, c.SOCKS} {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		out = append(out, string(b))
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "cfg", c, "http", c.HTTP, "socks", c.SOCKS, "d", d1)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "cfg", c, "http", c.HTTP, "socks", &c.SOCKS)
	out = append(out, buf.String())
	_, err = FromURL("http://u:" + "p%40ss@proxy:3128/path")
	out = append(out, err.Error())
	for _, o := range out {
		assert.NotContains(t, o, pw1)
		assert.NotContains(t, o, pw2)
		assert.NotContains(t, o, "p@ss")
	}
}

func TestJSONRoundTrip(t *testing.T) {
	in := `{"http":{"address":"proxy","port":3128,"username":"u","password":"p@ss:w","tls":true},` +
		`"socks":{"version":4,"address":"s","port":1080,"username":"alice"},"bypass":["localhost"]}`
	var c Config
	require.NoError(t, json.Unmarshal([]byte(in), &c))
	require.Equal(t, "p@ss:w", c.HTTP.Password.Reveal())
	require.Equal(t, 4, c.SOCKS.Version)
	require.NoError(t, c.Validate())
	out, err := json.Marshal(c)
	require.NoError(t, err)
	require.Equal(t, `{"http":{"address":"proxy","port":3128,"username":"u","password":"[REDACTED]","tls":true},`+
		`"socks":{"version":4,"address":"s","port":1080,"username":"alice"},"bypass":["localhost"]}`, string(out))
}
