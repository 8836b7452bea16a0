package mailqueue

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
)

// groupSync makes renames into one folder durable with as few folder
// fsyncs as possible (group commit): every caller needs a folder fsync that
// started after its rename; callers that arrive while one runs share the
// next one. One producer pays one fsync per message, sixteen producers pay
// roughly one between them.
type groupSync struct {
	dir    string
	broken func(error) error // records a sticky failure, returns the error to report

	mu       sync.Mutex // guards started, finished, running
	cond     *sync.Cond
	started  uint64 // folder fsyncs begun
	finished uint64 // highest folder fsync completed
	running  bool
	lastErr  error // error of the fsync numbered finished
}

func newGroupSync(dir string, broken func(error) error) *groupSync {
	g := &groupSync{dir: dir, broken: broken}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// sync returns once a folder fsync that began after the call completed.
func (g *groupSync) sync() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	// A running fsync may have begun before our rename, so we need the
	// next one in any case.
	target := g.started + 1
	for g.finished < target {
		if g.running {
			g.cond.Wait()
			continue
		}
		g.running = true
		g.started++
		n := g.started
		g.mu.Unlock()
		err := syncDir(g.dir)
		g.mu.Lock()
		g.running = false
		g.finished = n
		g.lastErr = err
		g.cond.Broadcast()
		if err != nil {
			return g.broken(err)
		}
	}
	if g.lastErr != nil {
		return g.broken(g.lastErr)
	}
	return nil
}

// syncDir fsyncs a folder so that renames and unlinks in it survive a power
// loss. Windows cannot fsync a folder handle; there NTFS journaling of the
// rename is the guarantee.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeSynced creates path exclusively with mode 0600, writes the parts,
// fsyncs and closes it. On any error the file is removed.
func writeSynced(path string, parts ...[]byte) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(path)
		}
	}()
	for _, p := range parts {
		if _, err = f.Write(p); err != nil {
			return err
		}
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrSyncFailed, filepath.Base(path), err)
	}
	return f.Close()
}

// randHex returns n random bytes in hex.
func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// commitReq is one Put whose written file awaits its fsync and rename.
type commitReq struct {
	f   *os.File
	tmp string
	dst string
}
