package mailqueue

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A lease ran out during a slow Release; another runner claimed the
// message, delivered it and acknowledged it while the Release was writing
// the message's own file. The delivered message must not come back from
// that file (a duplicate without any crash).
func TestJournalAttack2ReleaseAfterAckLeavesNoFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTestSpool(t, dir)
	s.opts.ScanInterval = -1
	ids := putBatch(t, s, 0, 1)
	items, err := s.Claim(ctx, "a", t0.Add(2*time.Second), time.Minute, 1)
	require.NoError(t, err)
	require.Len(t, items, 1)

	// Hold Release(ids[0]) in its queue/ fsync, after its rename.
	release := holdGroupSync(s.queueSync)
	errc := make(chan error, 1)
	go func() { errc <- s.Release(ctx, ids[0], Outcome{NextAttempt: t0}) }()
	for !exists(filepath.Join(dir, "queue", ids[0]+".eml")) {
		runtime.Gosched()
	}
	// The lease of "a" ran out: "b" claims, delivers and acknowledges.
	items, err = s.Claim(ctx, "b", t0.Add(time.Hour), time.Minute, 1)
	require.NoError(t, err)
	require.Len(t, items, 1)
	require.Equal(t, ids[0], items[0].Meta.ID)
	require.NoError(t, s.Ack(ctx, ids[0]))
	release()
	_ = <-errc // nil or an error: the message is gone either way

	assert.Zero(t, s.Rescan(), "the delivered message is not picked up again")
	assert.NotContains(t, listByID(t, s), ids[0])
	require.NoError(t, s.Close())
	s2 := openTestSpool(t, dir)
	for _, it := range claimAll(t, s2) {
		assert.NotEqual(t, ids[0], it.Meta.ID, "delivered message resurrected")
	}
}
