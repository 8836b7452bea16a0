//go:build unix

package mailqueue

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A reader in another process must not list a segment's messages as
// queued when the owner finished the segment (unlinking it, then its .done
// file) while the reader was between the two files. The .done file here
// is a FIFO, so that the test removes the segment exactly while List
// reads it.
func TestJournalAttackSharedListRacesBatchRemoval(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(dir, SpoolOptions{ScanInterval: -1})
	require.NoError(t, err)
	putBatch(t, s, 0, 1)
	require.NoError(t, s.Close())
	name := files(t, filepath.Join(dir, "journal"))[0]
	done := filepath.Join(dir, "journal", strings.TrimSuffix(name, segmentExt)+doneExt)
	require.NoError(t, syscall.Mkfifo(done, 0o600))

	ro, err := OpenSpool(dir, SpoolOptions{Access: AccessReadOnly})
	require.NoError(t, err)
	type result struct {
		list []Meta
		err  error
	}
	res := make(chan result, 1)
	go func() {
		l, err := ro.List(context.Background())
		res <- result{l, err}
	}()
	w, err := os.OpenFile(done, os.O_WRONLY, 0) // returns once List opened it
	require.NoError(t, err)
	// Both messages are delivered: the owner removes the segment, then
	// its .done file.
	require.NoError(t, os.Remove(filepath.Join(dir, "journal", name)))
	require.NoError(t, w.Close())
	r := <-res
	require.NoError(t, r.err)
	assert.Empty(t, r.list, "finished messages listed as queued")
}
