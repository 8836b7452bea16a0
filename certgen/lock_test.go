package certgen

import (
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConcurrentEnsure starts several "services" that all call Ensure on
// the same empty directory at boot: exactly one pair is created and all
// of them get it.
func TestConcurrentEnsure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	const n = 6
	serials := make([]string, n)
	actions := make([]Action, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			p, st, err := Ensure(dir, Options{Host: "IAS01", KeyType: KeyECDSAP256})
			errs[i], actions[i] = err, st.Action
			if p != nil {
				serials[i] = p.Serial()
			}
		})
	}
	wg.Wait()
	created := 0
	for i := range n {
		require.NoError(t, errs[i])
		assert.Equal(t, serials[0], serials[i])
		if actions[i] == ActionCreated {
			created++
		}
	}
	assert.Equal(t, 1, created)
	p, err := Load(dir)
	require.NoError(t, err)
	assert.Equal(t, serials[0], p.Serial())
}

// TestConcurrentSaves interleaves Saves of different pairs: the directory
// always ends with one of them, whole.
func TestConcurrentSaves(t *testing.T) {
	dir := t.TempDir()
	pairs := []*Pair{pairOf(t, KeyECDSAP256), pairOf(t, KeyRSA2048), pairOf(t, KeyRSA3072)}
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() { assert.NoError(t, Save(dir, pairs[i%len(pairs)])) })
	}
	wg.Wait()
	_, err := Load(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{CertFile, KeyFile}, dirNames(t, dir))
}

func TestLockBusy(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" && runtime.GOOS != "windows" {
		t.Skip("no file lock on this platform")
	}
	dir := t.TempDir()
	release, err := lockDir(dir)
	require.NoError(t, err)
	_, err = lockDirWithin(dir, 50*time.Millisecond)
	require.ErrorIs(t, err, ErrBusy)
	var fe *FileError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, filepath.Join(dir, LockFile), fe.Path)
	release()
	release2, err := lockDirWithin(dir, time.Second)
	require.NoError(t, err)
	release2()
}

// TestReadOnlyDirectory: a service that may only read the provisioned
// pair still loads and checks it.
func TestReadOnlyDirectory(t *testing.T) {
	if runtime.GOOS == "windows" || os.Geteuid() == 0 {
		t.Skip("needs Unix permissions that bind the user (not root)")
	}
	dir := t.TempDir()
	_, _, err := Ensure(dir, Options{Host: "h", KeyType: KeyECDSAP256})
	require.NoError(t, err)
	require.NoError(t, os.Remove(filepath.Join(dir, LockFile)))
	require.NoError(t, os.Chmod(dir, 0o500))
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	_, st, err := Ensure(dir, Options{Host: "h"})
	require.NoError(t, err)
	assert.Equal(t, StateValid, st.State)
}
