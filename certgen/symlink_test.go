//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package certgen

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEnsureLeavesSymlinkedKeyMode: key.pem linked to a key shared with a
// group (0640, Debian's ssl-cert style) is reported, not chmod-ed: chmod
// follows the link and would lock the other users of the key out.
func TestEnsureLeavesSymlinkedKeyMode(t *testing.T) {
	shared := t.TempDir()
	p := pairOf(t, KeyECDSAP256)
	target := filepath.Join(shared, "site.key")
	require.NoError(t, os.WriteFile(target, p.KeyPEM(), 0o640))
	require.NoError(t, os.Chmod(target, 0o640))
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, CertFile), p.CertPEM(), 0o644))
	require.NoError(t, os.Symlink(target, filepath.Join(dir, KeyFile)))

	var logBuf bytes.Buffer
	got, st, err := Ensure(dir, Options{Host: "IAS_SRV01", Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
	require.NoError(t, err)
	assert.Equal(t, ActionLoaded, st.Action)
	assert.Equal(t, p.Serial(), got.Serial())
	assert.Equal(t, os.FileMode(0o640), mode(t, target), "the link target keeps its mode")
	assert.Contains(t, logBuf.String(), "symbolic link")
	assert.NotContains(t, logBuf.String(), "PRIVATE KEY")
}

// TestLoadRefusesFIFO: a FIFO in place of a file would block the open (and
// Ensure at boot) forever; it is refused as not a regular file.
func TestLoadRefusesFIFO(t *testing.T) {
	dir := t.TempDir()
	p := pairOf(t, KeyECDSAP256)
	require.NoError(t, os.WriteFile(filepath.Join(dir, CertFile), p.CertPEM(), 0o644))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, KeyFile), 0o600))
	done := make(chan error, 1)
	go func() {
		_, err := Load(dir)
		done <- err
	}()
	select {
	case err := <-done:
		require.ErrorIs(t, err, ErrBadPEM)
		assert.Contains(t, err.Error(), "not a regular file")
	case <-time.After(time.Minute):
		// Unblock the reader so the test process can end.
		f, err := os.OpenFile(filepath.Join(dir, KeyFile), os.O_WRONLY, 0)
		if err == nil {
			f.Close()
		}
		t.Fatal("Load blocked on a FIFO")
	}
	_, err := Inspect(dir, Options{Host: "IAS_SRV01"})
	require.ErrorIs(t, err, ErrBadPEM)
}

// TestLockRefusesSymlink: a symbolic link planted as the lock file must
// not make Ensure create (or open) the file it points to.
func TestLockRefusesSymlink(t *testing.T) {
	dir, elsewhere := t.TempDir(), t.TempDir()
	target := filepath.Join(elsewhere, "nologin")
	require.NoError(t, os.Symlink(target, filepath.Join(dir, LockFile)))
	_, _, err := Ensure(dir, Options{Host: "h", KeyType: KeyECDSAP256})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "lock")
	_, statErr := os.Lstat(target)
	assert.True(t, os.IsNotExist(statErr), "the link target was created")
	assert.NoFileExists(t, filepath.Join(dir, KeyFile))
}
