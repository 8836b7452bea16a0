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

// A message finished twice by racing calls (an Ack and a Fail of the same
// leased message, as after a lease expiry) must count once against its
// journal segment: otherwise the segment is removed while another of its
// messages has no other copy.
func TestJournalAttackConcurrentFinishCountsOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTestSpool(t, dir)
	s.opts.ScanInterval = -1
	ids := putBatch(t, s, 0, 1, 2)
	items, err := s.Claim(ctx, "me", t0.Add(2*time.Second), time.Minute, 2)
	require.NoError(t, err)
	require.Len(t, items, 2)
	require.Equal(t, []string{ids[0], ids[1]}, []string{items[0].Meta.ID, items[1].Meta.ID})

	// Hold Fail(ids[0]) in its failed/ fsync, after its rename.
	release := holdGroupSync(s.failSync)
	errc := make(chan error, 1)
	go func() { errc <- s.Fail(ctx, ids[0], Failure{Reason: "550 no"}) }()
	for !exists(filepath.Join(dir, "failed", ids[0]+".eml")) {
		runtime.Gosched()
	}
	ackErr := s.Ack(ctx, ids[0]) // races with the Fail: both found the entry
	release()
	require.NoError(t, <-errc)
	if ackErr != nil {
		require.ErrorIs(t, ackErr, ErrNotFound)
	}

	require.NoError(t, s.Ack(ctx, ids[1]))
	require.NoError(t, s.Close()) // seals the segment
	s2 := openTestSpool(t, dir)
	items = claimAll(t, s2)
	require.Len(t, items, 1, "the journal-only message is still there")
	assert.Equal(t, testMsg(2), items[0].Data)
}

// The same for a Release (which frees the journal record once the file is
// flushed in queue/) racing with an Ack of the same message.
func TestJournalAttackReleaseAckFinishCountsOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTestSpool(t, dir)
	s.opts.ScanInterval = -1
	ids := putBatch(t, s, 0, 1, 2)
	items, err := s.Claim(ctx, "me", t0.Add(2*time.Second), time.Minute, 2)
	require.NoError(t, err)
	require.Len(t, items, 2)

	// Hold Release(ids[0]) in its queue/ fsync, after its rename.
	release := holdGroupSync(s.queueSync)
	errc := make(chan error, 1)
	go func() { errc <- s.Release(ctx, ids[0], Outcome{NextAttempt: t0}) }()
	for !exists(filepath.Join(dir, "queue", ids[0]+".eml")) {
		runtime.Gosched()
	}
	require.NoError(t, s.Ack(ctx, ids[0]))
	release()
	require.NoError(t, <-errc)

	require.NoError(t, s.Ack(ctx, ids[1]))
	require.NoError(t, s.Close()) // seals the segment
	s2 := openTestSpool(t, dir)
	items = claimAll(t, s2)
	var got []string
	for _, it := range items {
		got = append(got, it.Meta.ID)
	}
	assert.Contains(t, got, ids[2], "the journal-only message is still there")
}

// holdGroupSync makes callers of g.sync wait as if a folder fsync were
// running (they have renamed their file and not yet returned) until the
// returned function completes that fsync.
func holdGroupSync(g *groupSync) (release func()) {
	g.mu.Lock()
	g.running = true
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		g.running = false
		g.started++
		g.finished = g.started
		g.cond.Broadcast()
		g.mu.Unlock()
	}
}
