package mailqueue

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A Fail that could not write the dead letter (a local write error) leaves
// the message queued; when a later attempt releases it, the next open must
// not turn it into a dead letter from the metadata the failed Fail wrote.
func TestJournalAttack2FailedFailLeavesNoDeadLetter(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenSpool(dir, SpoolOptions{ScanInterval: -1})
	require.NoError(t, err)
	ids := putBatch(t, s, 0)
	require.Len(t, claimAll(t, s), 1)
	// The dead letter's rename fails (in real life EIO, ENOSPC, EMFILE on
	// the way): its metadata was already written.
	blocker := filepath.Join(dir, "failed", ids[0]+".eml")
	require.NoError(t, os.Mkdir(blocker, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(blocker, "x"), nil, 0o600))
	require.Error(t, s.Fail(ctx, ids[0], Failure{Reason: "550 no"}))
	require.NoError(t, os.RemoveAll(blocker))

	// The next attempt meets a server that is down: the message stays.
	require.NoError(t, s.Release(ctx, ids[0], Outcome{NextAttempt: t0}))
	require.NoError(t, s.Close())

	s2, err := OpenSpool(dir, SpoolOptions{ScanInterval: -1})
	require.NoError(t, err)
	defer s2.Close()
	got := listByID(t, s2)
	require.Contains(t, got, ids[0])
	assert.Equal(t, StateQueued, got[ids[0]].State)
	assert.Empty(t, files(t, filepath.Join(dir, "failed")))
}
