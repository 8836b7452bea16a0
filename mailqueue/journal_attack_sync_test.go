package mailqueue

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A group that waited while an earlier group's fsync failed is refused
// like any write after the failure, not committed with a retried flush.
func TestJournalAttackNoBatchAfterSyncFailure(t *testing.T) {
	dir := t.TempDir()
	s := openTestSpool(t, dir)
	data := testMsg(0)
	h := newSpoolHeader(testEnv, data, t0)
	h.ID = newID(h.EnqueuedAt)
	hdr, err := encodeHeader(h)
	require.NoError(t, err)
	req := &putReq{h: h, hdr: hdr, data: data}
	_ = s.markBroken(errors.New("EIO"))
	s.commitBatch([]*putReq{req})
	require.ErrorIs(t, req.err, ErrSyncFailed)
	assert.Empty(t, files(t, filepath.Join(dir, "journal")))
	assert.Empty(t, files(t, filepath.Join(dir, "tmp")))
}
