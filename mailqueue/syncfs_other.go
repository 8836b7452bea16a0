//go:build !linux

package mailqueue

import "os"

// syncFiles fsyncs each file.
func syncFiles(fs []*os.File) error {
	for _, f := range fs {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	return nil
}
