package smtpsend_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/mailqueue/smtpsend"
)

// staticTokens is a token source that keeps its token in a plain field, as
// a careless caller might.
type staticTokens struct{ tok string }

func (s staticTokens) Token(context.Context, bool) (string, error) { return s.tok, nil }

// TestConfigNoSecretInAnyFormat prints Config directly, by pointer and
// nested with every verb, bad ones included: fmt prints a value it cannot
// format with all methods off, so Config needs its own Format.
func TestConfigNoSecretInAnyFormat(t *testing.T) {
	const pw, tok = "S3CRETPW", "T0KENVALUE"
	c := smtpsend.Config{Host: "smtp.example.com", Username: "u", Password: smtpsend.NewSecret(pw)}
	ct := smtpsend.Config{Host: "smtp.example.com", Username: "u", Tokens: staticTokens{tok}}
	type outer struct {
		N   int
		Any any
	}
	values := map[string]any{
		"Config": c, "*Config": &c, "nested *Config": struct{ C *smtpsend.Config }{&c},
		"nested Config": struct{ C smtpsend.Config }{c}, "interface": outer{1, &c},
		"slice": []*smtpsend.Config{&c}, "tokens": ct, "nested tokens": struct{ C *smtpsend.Config }{&ct},
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X", "%t", "%e", "%c", "%U", "%o", "%b"}
	for name, v := range values {
		t.Run(name, func(t *testing.T) {
			var outs []string
			for _, verb := range verbs {
				outs = append(outs, verb+" "+fmt.Sprintf(verb, v))
			}
			if k := reflect.ValueOf(v).Kind(); k == reflect.Pointer || k == reflect.Slice {
				outs = append(outs, "%p "+fmt.Sprintf("%p", v))
			}
			if j, err := json.Marshal(v); err == nil {
				outs = append(outs, "json "+string(j))
			}
			var buf bytes.Buffer
			slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "v", v)
			slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "v", v)
			outs = append(outs, "slog "+buf.String())
			for _, o := range outs {
				for _, s := range []string{pw, tok} {
					if strings.Contains(o, s) || strings.Contains(strings.ToLower(o), hex.EncodeToString([]byte(s))) {
						t.Errorf("secret leaked: %s", o)
					}
				}
			}
		})
	}
	if got := fmt.Sprintf("%+v", c); !strings.Contains(got, "Host:smtp.example.com") || !strings.Contains(got, "Password:[REDACTED]") {
		t.Errorf("%%+v = %s", got)
	}
	if got := fmt.Sprintf("%#v", c); !strings.HasPrefix(got, "smtpsend.Config{Host:\"smtp.example.com\"") {
		t.Errorf("%%#v = %s", got)
	}
}

// TestSenderNoSecretInAnyFormat: a Sender holds its settings behind a
// pointer; fmt dereferences a pointer it cannot format with the verb (%s,
// %q, %t ...) with every method off, which printed the password.
func TestSenderNoSecretInAnyFormat(t *testing.T) {
	const pw = "S3CRETPW"
	be := &backend{authOK: func(string, string, string) error { return nil }}
	port := startServer(t, be, withTLS(t))
	cfg := baseConfig(t, port)
	cfg.Username, cfg.Password = "u", smtpsend.NewSecret(pw)
	s := newSender(t, cfg)
	// A kept connection is part of the state too.
	require.NoError(t, s.Send(context.Background(), env(), []byte(testMsg)))
	type hidden struct {
		n int
		s *smtpsend.Sender
	}
	values := []any{s, struct{ S *smtpsend.Sender }{s}, hidden{1, s}, []*smtpsend.Sender{s}, struct{ A any }{s}}
	for i, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%t", "%e", "%c", "%U", "%p"} {
			out := fmt.Sprintf(verb, v)
			require.NotContains(t, out, pw, "value %d verb %s", i, verb)
			require.NotContains(t, strings.ToLower(out), hex.EncodeToString([]byte(pw)), "value %d verb %s", i, verb)
		}
	}
	require.Equal(t, fmt.Sprintf("smtpsend.Sender{127.0.0.1:%d security=auto user=u}", port), fmt.Sprint(s))
}
