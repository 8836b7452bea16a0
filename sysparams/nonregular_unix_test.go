//go:build unix

package sysparams

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNonRegularFilesRefused: a FIFO in place of the parameter file or the
// key file is reported (ErrCorrupt) instead of blocking the read forever,
// and neither is replaced.
func TestNonRegularFilesRefused(t *testing.T) {
	ctx := context.Background()
	t.Run("parameter file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "params.json")
		require.NoError(t, syscall.Mkfifo(path, 0o600))
		_, err := OpenFile(ctx, path, FileOptions{})
		require.ErrorIs(t, err, ErrCorrupt)
		require.ErrorContains(t, err, "not a regular file")
		fi, err := os.Lstat(path)
		require.NoError(t, err)
		require.Equal(t, os.ModeNamedPipe, fi.Mode().Type())
	})
	t.Run("key file", func(t *testing.T) {
		s, path := openTemp(t)
		_, err := s.Update(ctx, setAll(validParams()))
		require.NoError(t, err)
		require.NoError(t, os.Remove(path+".key"))
		require.NoError(t, syscall.Mkfifo(path+".key", 0o600))
		_, err = OpenFile(ctx, path, FileOptions{})
		require.ErrorIs(t, err, ErrCorrupt)
		require.ErrorContains(t, err, "key file is not a regular file")
	})
}
