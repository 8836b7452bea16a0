//go:build unix

package sysparams

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

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

// TestUpdateWaitsForTheLockOnlyUntilItsDeadline: while another process
// holds the update lock (stuck in a save), Update gives up at its context's
// deadline instead of waiting forever, and saves nothing; once the lock is
// free, updates go through.
func TestUpdateWaitsForTheLockOnlyUntilItsDeadline(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	_, err := s.Update(ctx, setAll(validParams()))
	require.NoError(t, err)
	before, err := os.ReadFile(path)
	require.NoError(t, err)

	unlock, err := lockFile(ctx, path+".lock") // the other process
	require.NoError(t, err)
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err = s.Update(short, func(p *Params) error { p.Email.Port = 587; return nil })
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "held by another process")
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, before, after)

	unlock()
	_, err = s.Update(ctx, func(p *Params) error { p.Email.Port = 587; return nil })
	require.NoError(t, err)
}
