//go:build !unix

package mailqueue

import "os"

// lockFile opens the lock file; on systems without flock the spool relies
// on the host running one owner process (documented in doc.go).
func lockFile(path string) (*os.File, bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, err
	}
	return f, true, nil
}

// unlockFile closes the lock file.
func unlockFile(f *os.File) error { return f.Close() }
