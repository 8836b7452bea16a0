package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSecretNeverPrints(t *testing.T) {
	const value = "hunter2-p@ss"
	type cfg struct {
		User     string
		Password Secret `json:"password"`
	}
	c := cfg{User: "alice", Password: New(value)}
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s"} {
		out = append(out, fmt.Sprintf(verb, c), fmt.Sprintf(verb, c.Password), fmt.Sprintf(verb, &c))
	}
	b, err := json.Marshal(c)
	require.NoError(t, err)
	out = append(out, string(b))
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "cfg", c, "pw", c.Password)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "pw", c.Password)
	out = append(out, buf.String())
	for _, o := range out {
		require.NotContains(t, o, value)
		require.NotContains(t, o, fmt.Sprintf("%x", value))
	}
	require.True(t, strings.Contains(string(b), Redacted))
	require.Equal(t, value, c.Password.Reveal())
	require.True(t, New(value) == c.Password, "secrets compare by value")
}

// TestSecretHiddenFromReflection covers the fmt paths that do not call
// methods: an unexported field of a caller's struct, and a bad verb on a
// pointer that leads to a Secret.
func TestSecretHiddenFromReflection(t *testing.T) {
	const value = "hunter2-p@ss"
	type inner struct{ Password Secret }
	type host struct {
		cfg  inner
		ptr  *inner
		list []inner
	}
	h := host{cfg: inner{New(value)}, ptr: &inner{New(value)}, list: []inner{{New(value)}}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q", "%t"} {
		for _, arg := range []any{h, &h, struct{ p *inner }{h.ptr}, []*inner{h.ptr}} {
			out := fmt.Sprintf(verb, arg)
			require.NotContains(t, out, value, verb)
			require.NotContains(t, out, fmt.Sprintf("%x", value), verb)
		}
	}
}

func TestSecretUnmarshal(t *testing.T) {
	var s Secret
	require.NoError(t, json.Unmarshal([]byte(`"a:b@c"`), &s))
	require.Equal(t, "a:b@c", s.Reveal())
	require.Error(t, json.Unmarshal([]byte(`"[REDACTED]"`), &s))
	require.Error(t, json.Unmarshal([]byte(`12`), &s))
	require.Equal(t, "a:b@c", s.Reveal(), "a refused value leaves the secret intact")
	var empty Secret
	require.Equal(t, "", empty.String())
	require.False(t, empty.IsSet())
	require.True(t, empty.IsZero())
	require.Equal(t, empty, New(""))
	b, err := json.Marshal(struct {
		S Secret `json:"s,omitzero"`
	}{})
	require.NoError(t, err)
	require.Equal(t, "{}", string(b))
}
