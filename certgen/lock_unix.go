//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package certgen

import (
	"errors"
	"os"
	"syscall"
)

// tryLock takes an exclusive flock(2) without blocking; false means another
// holder has it. Separate opens conflict even within one process.
func tryLock(f *os.File) (bool, error) {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		}
		return false, err
	}
}

func unlock(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

// readOnlyFS reports a read-only file system.
func readOnlyFS(err error) bool { return errors.Is(err, syscall.EROFS) }

// noFollow is the open flag that refuses a symbolic link as the lock file.
const noFollow = syscall.O_NOFOLLOW
