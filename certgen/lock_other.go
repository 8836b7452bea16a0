//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package certgen

import "os"

// tryLock: this platform has no file lock the package uses, so writers of
// one directory are not serialised there; callers must not run them
// concurrently.
func tryLock(*os.File) (bool, error) { return true, nil }

func unlock(*os.File) error { return nil }

func readOnlyFS(error) bool { return false }

// noFollow is the open flag that refuses a symbolic link as the lock file (none here).
const noFollow = 0
