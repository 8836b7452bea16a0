//go:build !linux

package mailqueue

import "os"

// datasync flushes f (fsync(2): fdatasync is not portable).
func datasync(f *os.File) error { return f.Sync() }
