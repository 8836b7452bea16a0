package pgstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/sysparams"
)

// TestOptionsNeverPrintKeys formats Options (which hold the Keyring) and a
// ConflictError every way a host might log them.
func TestOptionsNeverPrintKeys(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	k, err := sysparams.NewKeyring("k1", key)
	require.NoError(t, err)
	opts := Options{Name: "default", Keyring: k, Node: "node-a"}
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out = append(out, fmt.Sprintf(verb, opts), fmt.Sprintf(verb, &opts), fmt.Sprintf(verb, k))
	}
	// The keyring has no exported fields; JSON shows none of its state.
	j, err := json.Marshal(opts)
	require.NoError(t, err)
	out = append(out, string(j))
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("opts", "opts", opts, "keys", k)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("opts", "opts", opts, "keys", k)
	out = append(out, buf.String(), (&ConflictError{Name: "default", Base: 1, Current: 2}).Error())
	all := strings.Join(out, "\n")
	assert.NotContains(t, all, string(key))
	assert.NotContains(t, all, "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY", "base64 of the key")
	assert.NotContains(t, all, "3031323334353637", "hex of the key")
}
