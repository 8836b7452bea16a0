package proxycfg

import (
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFromURL(t *testing.T) {
	tests := []struct {
		raw  string
		want Config
		err  string
	}{
		{raw: "http://proxy:3128", want: Config{HTTP: HTTPProxy{Address: "proxy", Port: 3128}}},
		{raw: "HTTP://proxy", want: Config{HTTP: HTTPProxy{Address: "proxy", Port: 80}}},
		{raw: "https://u:p@proxy/", want: Config{HTTP: HTTPProxy{Address: "proxy", Port: 443, TLS: true, Username: "u", Password: NewSecret("p")}}},
		{raw: "http://us%40er:p%40ss%3Aw%2Fo%3Fr%23d%20%25%C3%A9@[2001:db8::1]:8080",
			want: Config{HTTP: HTTPProxy{Address: "2001:db8::1", Port: 8080, Username: "us@er", Password: NewSecret("p@ss:w/o?r#d %é")}}},
		{raw: "socks4://alice@s:1081", want: Config{SOCKS: SOCKSProxy{Version: 4, Address: "s", Port: 1081, Username: "alice", Resolve: ResolveLocal}}},
		{raw: "socks4a://s", want: Config{SOCKS: SOCKSProxy{Version: 4, Address: "s", Port: 1080, Resolve: ResolveProxy}}},
		{raw: "socks5://a:b@s", want: Config{SOCKS: SOCKSProxy{Version: 5, Address: "s", Port: 1080, Username: "a", Password: NewSecret("b"), Resolve: ResolveLocal}}},
		{raw: "socks5h://a%3A:b%40@127.0.0.1:9050", want: Config{SOCKS: SOCKSProxy{Version: 5, Address: "127.0.0.1", Port: 9050, Username: "a:", Password: NewSecret("b@"), Resolve: ResolveProxy}}},
		{raw: "proxy:3128", err: "must start with http://"},
		{raw: "ftp://proxy", err: `unsupported proxy scheme "ftp"`},
		{raw: "http://proxy:99999", err: "port must be 1-65535"},
		{raw: "http://proxy/x", err: "must not have a path"},
		{raw: "http://proxy?a=b", err: "must not have a path"},
		{raw: "http://:3128", err: "has no host"},
		{raw: "http://a%3Ab:c@proxy", err: "http.username: must not contain ':'"},
		{raw: "socks4://u:pw@s", err: "socks.password: SOCKS4 cannot carry a password"},
		{raw: "http://u@proxy", err: "http.password: is mandatory when username is set"},
		{raw: "http://pro\nxy", err: "CR, LF or NUL"},
		{raw: "http://u:p%zz@proxy", err: "invalid proxy URL"},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			got, err := FromURL(tc.raw)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestFromURLStringRoundTrip: String output with the password put back
// parses to the same settings.
func TestFromURLStringRoundTrip(t *testing.T) {
	c, err := FromURL("socks5h://us%40er:pw@[::1]:1080")
	require.NoError(t, err)
	require.Equal(t, "socks5h://us%40er:xxxxx@[::1]:1080", c.String())
	back, err := FromURL(strings.Replace(c.String(), "xxxxx", "pw", 1))
	require.NoError(t, err)
	require.Equal(t, c, back)
}

func FuzzFromURL(f *testing.F) {
	for _, s := range []string{"http://proxy:3128", "https://u:p@[::1]:1", "socks4a://a@b", "socks5h://a%40:b@c:1080", "x", "http://%zz", "socks5://"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := FromURL(raw)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("FromURL(%q) returned invalid settings: %v", raw, err)
		}
		for _, pw := range []Secret{c.HTTP.Password, c.SOCKS.Password} {
			if pw.IsSet() && !strings.Contains(c.String(), ":xxxxx@") {
				t.Fatalf("String does not redact the password: %s", c.String())
			}
		}
		// The redacted String parses back unless it carries a password placeholder.
		if !c.HTTP.Password.IsSet() && !c.SOCKS.Password.IsSet() {
			back, err := FromURL(c.String())
			if err != nil {
				t.Fatalf("FromURL(String()=%q): %v", c.String(), err)
			}
			if !reflect.DeepEqual(back, c) {
				t.Fatalf("round trip %q: %+v != %+v", raw, back, c)
			}
		}
	})
}

func FuzzValidate(f *testing.F) {
	f.Add("proxy", 3128, "u", "p", 5, "s", 1080, "a", "b", "localhost,.corp,10.0.0.0/8")
	f.Add("2001:db8::1", 0, "", "", 4, "", 0, "", "", "*")
	f.Fuzz(func(t *testing.T, ha string, hp int, hu, hpw string, sv int, sa string, sp int, su, spw, bypass string) {
		c := Config{
			HTTP:   HTTPProxy{Address: ha, Port: hp, Username: hu, Password: NewSecret(hpw)},
			SOCKS:  SOCKSProxy{Version: sv, Address: sa, Port: sp, Username: su, Password: NewSecret(spw)},
			Bypass: SplitBypass(bypass),
		}
		if err := c.Validate(); err != nil {
			return
		}
		// Valid settings build every object without error.
		if _, err := c.Dialer(nil); err != nil {
			t.Fatalf("Dialer after valid settings: %v", err)
		}
		if _, err := c.Transport(); err != nil {
			t.Fatalf("Transport after valid settings: %v", err)
		}
		if _, err := NewBypass(c.Bypass); err != nil {
			t.Fatalf("NewBypass after valid settings: %v", err)
		}
	})
}
