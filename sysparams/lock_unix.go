//go:build unix

package sysparams

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// lockPoll is how often a contended lock is tried again.
const lockPoll = 10 * time.Millisecond

// lockFile takes an exclusive advisory lock (flock) on path, creating it
// with mode 0600, so that updates from several processes are serialized.
// While another process holds it, it tries again every lockPoll until ctx
// ends (a process stuck in a save cannot hold this one forever). The
// returned function releases it.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sysparams: lock %s: %w", path, err)
	}
	var t *time.Timer
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("sysparams: lock %s: %w", path, err)
		}
		if t == nil {
			t = time.NewTimer(lockPoll)
			defer t.Stop()
		} else {
			t.Reset(lockPoll)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("sysparams: waiting for the lock %s held by another process: %w", path, ctx.Err())
		case <-t.C:
		}
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
