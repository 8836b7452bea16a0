package numplan

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, err := CompileWith(Config{InternalPatterns: []string{"2XXX", "2000"}}, Options{Logger: log})
	require.NoError(t, err)
	out := buf.String()
	assert.Contains(t, out, "numplan: compiled")
	assert.Contains(t, out, "level=WARN")
	assert.Contains(t, out, `can never match in first mode`)
	// Nil logger: silent, no panic.
	_, err = CompileWith(Config{InternalPatterns: []string{"2XXX", "2000"}}, Options{})
	require.NoError(t, err)
}
