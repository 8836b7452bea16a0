package mailqueue

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A journal-only message that Claim cannot write out because of a local
// write error (here tmp/ is not a folder; in real life ENOSPC or EMFILE)
// stays queued: only a damaged journal record drops it from the index.
func TestJournalAttackClaimWriteErrorKeepsMessage(t *testing.T) {
	dir := t.TempDir()
	s := openTestSpool(t, dir)
	s.opts.ScanInterval = -1
	ids := putBatch(t, s, 0)
	tmp := filepath.Join(dir, "tmp")
	require.NoError(t, os.Remove(tmp))
	require.NoError(t, os.WriteFile(tmp, nil, 0o600))
	items, err := s.Claim(context.Background(), "me", t0.Add(time.Hour), time.Minute, 10)
	assert.Error(t, err)
	assert.Empty(t, items)

	require.NoError(t, os.Remove(tmp))
	require.NoError(t, os.Mkdir(tmp, 0o700))
	items = claimAll(t, s)
	require.Len(t, items, 1, "the message is still queued")
	assert.Equal(t, ids[0], items[0].Meta.ID)
	assert.Equal(t, testMsg(0), items[0].Data)
}
