//go:build linux

package mailqueue

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncFiles makes the data of several files durable. On Linux one
// syncfs(2) flushes them all with a single journal commit, where one fsync
// each would commit once per file; since Linux 5.8 syncfs reports writeback
// errors like fsync does.
func syncFiles(fs []*os.File) error {
	if len(fs) == 1 {
		return fs[0].Sync()
	}
	return unix.Syncfs(int(fs[0].Fd()))
}
