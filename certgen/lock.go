package certgen

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// LockFile is the empty file whose OS lock (flock on Unix, LockFileEx on
// Windows) serialises Save, Ensure and RenewDir on one directory across
// goroutines and processes: several services of one server may call Ensure
// at the same boot. The file stays in place; the lock dies with its holder.
// On Unix a symbolic link in its place is refused (O_NOFOLLOW), so a link
// planted in the directory cannot make a root process create a file
// elsewhere.
const LockFile = ".certgen.lock"

// LockTimeout bounds the wait for another writer of the same directory;
// ErrBusy follows. Generating an RSA-4096 key under load takes seconds, not
// minutes.
const LockTimeout = 2 * time.Minute

// lockDir takes the exclusive lock of dir (created 0700 if needed) and
// returns its release function. A directory this process may not write
// needs no lock, since it cannot change it either: lockDir then returns a
// no-op release and the write itself will report the problem.
func lockDir(dir string) (func(), error) { return lockDirWithin(dir, LockTimeout) }

func lockDirWithin(dir string, timeout time.Duration) (func(), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		if readOnly(err) {
			return func() {}, nil
		}
		return nil, fmt.Errorf("certgen: %w", err)
	}
	path := filepath.Join(dir, LockFile)
	// noFollow: a symbolic link planted as the lock file must not make
	// this process (often root at boot) create or open a file elsewhere.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|noFollow, 0o600)
	if err != nil {
		if readOnly(err) {
			return func() {}, nil
		}
		return nil, fmt.Errorf("certgen: lock: %w", err)
	}
	deadline := time.Now().Add(timeout)
	wait := 10 * time.Millisecond
	for {
		ok, err := tryLock(f)
		if err != nil {
			_ = f.Close()
			return nil, &FileError{Path: path, Err: err}
		}
		if ok {
			return func() {
				_ = unlock(f)
				_ = f.Close()
			}, nil
		}
		if time.Now().After(deadline) {
			_ = f.Close()
			return nil, &FileError{Path: path, Err: ErrBusy}
		}
		time.Sleep(wait)
		wait = min(2*wait, 250*time.Millisecond)
	}
}

// readOnly reports whether err says the directory cannot be written.
func readOnly(err error) bool {
	return errors.Is(err, fs.ErrPermission) || readOnlyFS(err)
}
