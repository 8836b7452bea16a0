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

// A journaled message whose Release cannot write its own file because of
// a local write error (here tmp/ is not a folder; in real life ENOSPC or
// EMFILE) stays in the journal and is delivered once the lease expires.
func TestJournalAttackReleaseWriteErrorKeepsMessage(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTestSpool(t, dir)
	s.opts.ScanInterval = -1
	ids := putBatch(t, s, 0)
	items := claimAll(t, s)
	require.Len(t, items, 1)
	tmp := filepath.Join(dir, "tmp")
	require.NoError(t, os.Remove(tmp))
	require.NoError(t, os.WriteFile(tmp, nil, 0o600))
	assert.Error(t, s.Release(ctx, ids[0], Outcome{NextAttempt: t0}))

	require.NoError(t, os.Remove(tmp))
	require.NoError(t, os.Mkdir(tmp, 0o700))
	items, err := s.Claim(ctx, "me", t0.Add(48*time.Hour), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, items, 1, "the message is still there once its lease expired")
	assert.Equal(t, ids[0], items[0].Meta.ID)
	assert.Equal(t, testMsg(0), items[0].Data)
	require.NoError(t, s.Ack(ctx, ids[0]))
	assert.Empty(t, files(t, filepath.Join(dir, "queue")), "no metadata left behind")
}
