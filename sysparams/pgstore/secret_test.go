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

// TestLogsCarryNoSecrets saves and propagates a secret with debug logging
// on both nodes and checks that the logs name the field, never the value.
func TestLogsCarryNoSecrets(t *testing.T) {
	dsn, schema := testSchema(t)
	keys := testKeyring(t)
	var bufA, bufB syncBuffer
	la := slog.New(slog.NewJSONHandler(&bufA, &slog.HandlerOptions{Level: slog.LevelDebug}))
	lb := slog.New(slog.NewTextHandler(&bufB, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a := openNode(t, dsn, schema, Options{Keyring: keys, Logger: la})
	b := openNode(t, dsn, schema, Options{Keyring: keys, Logger: lb})
	got := make(chan sysparams.Change, 1)
	b.store.Subscribe(func(c sysparams.Change) { got <- c })
	_, err := a.store.Update(t.Context(), setMail)
	require.NoError(t, err)
	<-got
	require.NoError(t, a.store.Close())
	require.NoError(t, b.store.Close())
	assert.Contains(t, bufA.String(), "email.password", "the save is logged with its fields")
	assert.NotContains(t, bufA.String()+bufB.String(), plainPassword)
}

// TestStoreNeverPrintsKeysOrSecrets prints a Store (which keeps the keyring
// and the decrypted parameters) with every verb, directly and behind a
// caller's struct. Before Store had a Format method, %s on a struct holding
// the store printed the key bytes and the saved password.
func TestStoreNeverPrintsKeysOrSecrets(t *testing.T) {
	dsn, schema := testSchema(t)
	key := []byte("0123456789abcdef0123456789abcdef")
	k, err := sysparams.NewKeyring("k1", key)
	require.NoError(t, err)
	n := openNode(t, dsn, schema, Options{Keyring: k, Node: "node-a"})
	_, err = n.store.Update(t.Context(), setMail)
	require.NoError(t, err)
	type holder struct{ S any }
	leaks := []string{plainPassword, fmt.Sprintf("%x", plainPassword), string(key), fmt.Sprint(key[:8]), fmt.Sprintf("%x", key[:8])}
	for _, v := range []any{n.store, holder{n.store}, &holder{n.store}, []any{n.store}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q", "%t", "%e"} {
			out := fmt.Sprintf(verb, v)
			for _, l := range leaks {
				require.NotContains(t, out, l, "%T printed with %s", v, verb)
			}
		}
	}
	assert.Contains(t, fmt.Sprint(n.store), "node-a")
}
