package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSessionStoresMessages(t *testing.T) {
	dir := t.TempDir()
	b := &backend{dir: dir}
	s, err := b.NewSession(nil)
	require.NoError(t, err)
	require.NoError(t, s.Mail("a@example.com", nil))
	require.NoError(t, s.Rcpt("b@example.com", nil))
	require.NoError(t, s.Rcpt("c@example.com", nil))
	require.NoError(t, s.Data(strings.NewReader("Subject: x\r\n\r\nbody\r\n")))
	s.Reset()
	require.NoError(t, s.Logout())
	got, err := os.ReadFile(filepath.Join(dir, "1.eml"))
	require.NoError(t, err)
	require.Equal(t, "X-Sink-Envelope: a@example.com -> b@example.com,c@example.com\r\nSubject: x\r\n\r\nbody\r\n", string(got))
	left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp"))
	require.Empty(t, left)
}
