package proxycfg

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
)

// TestNoSecretInAnyFormat formats every type holding a password directly,
// through a pointer and nested (by value, by pointer, in an interface) with
// every verb, bad ones included: fmt prints a value it cannot format with
// all methods switched off, so only a Format method on the holder keeps the
// password out.
func TestNoSecretInAnyFormat(t *testing.T) {
	const pw = "S3CRETPW"
	h := HTTPProxy{Address: "proxy", Port: 3128, Username: "u", Password: NewSecret(pw)}
	s := SOCKSProxy{Address: "proxy", Port: 1080, Username: "u", Password: NewSecret(pw)}
	c := Config{HTTP: h, SOCKS: s, Bypass: []string{"localhost"}}
	cd := &ConnectDialer{ProxyAddr: "proxy:3128", Username: "u", Password: NewSecret(pw)}
	s5 := &SOCKS5Dialer{ProxyAddr: "proxy:1080", Username: "u", Password: NewSecret(pw)}
	type outer struct {
		N   int
		Any any
	}
	values := map[string]any{
		"HTTPProxy": h, "SOCKSProxy": s, "Config": c, "*ConnectDialer": cd, "*SOCKS5Dialer": s5,
		"ConnectDialer": *cd, "SOCKS5Dialer": *s5, "*Config": &c,
		"nested *HTTPProxy": struct{ P *HTTPProxy }{&h}, "nested *SOCKSProxy": struct{ P *SOCKSProxy }{&s},
		"nested *Config": struct{ P *Config }{&c}, "nested Config": struct{ C Config }{c},
		"nested *ConnectDialer": struct{ D *ConnectDialer }{cd}, "interface *SOCKS5Dialer": outer{1, s5},
		"interface *ConnectDialer": outer{1, cd}, "nested *BypassDialer": struct{ B *BypassDialer }{&BypassDialer{Proxy: cd}},
		"slice": []*Config{&c}, "map": map[string]*HTTPProxy{"a": &h},
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X", "%t", "%e", "%c", "%U", "%o", "%b", "%10.3s"}
	for name, v := range values {
		t.Run(name, func(t *testing.T) {
			var outs []string
			for _, verb := range verbs {
				outs = append(outs, verb+" "+fmt.Sprintf(verb, v))
			}
			if k := reflect.ValueOf(v).Kind(); k == reflect.Pointer || k == reflect.Slice || k == reflect.Map {
				// %p of a non-pointer value prints it with every method
				// off; that is internal/secret's limit, not tested here.
				outs = append(outs, "%p "+fmt.Sprintf("%p", v))
			}
			j, err := json.Marshal(v)
			if err == nil {
				outs = append(outs, "json "+string(j))
			}
			var buf bytes.Buffer
			slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "v", v)
			slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "v", v)
			outs = append(outs, "slog "+buf.String())
			for _, o := range outs {
				if strings.Contains(o, pw) || strings.Contains(strings.ToLower(o), hex.EncodeToString([]byte(pw))) {
					t.Errorf("password leaked: %s", o)
				}
			}
		})
	}
	// The redacted forms still say what is configured.
	if got := fmt.Sprintf("%d", cd); got != "http://u:xxxxx@proxy:3128" {
		t.Errorf("%%d of *ConnectDialer = %q", got)
	}
	if got := fmt.Sprintf("%v", s5); got != "socks5h://u:xxxxx@proxy:1080" {
		t.Errorf("%%v of *SOCKS5Dialer = %q", got)
	}
	if got := fmt.Sprintf("%#v", h); !strings.HasPrefix(got, "proxycfg.HTTPProxy{Address:\"proxy\"") || !strings.Contains(got, `"[REDACTED]"`) {
		t.Errorf("%%#v of HTTPProxy = %q", got)
	}
}
