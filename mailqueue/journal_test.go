package mailqueue

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// putBatch commits testMsg(n) for each n as one group, as a leader does
// for producers that wait at the same time, and returns their IDs.
func putBatch(t *testing.T, s *Spool, ns ...int) []string {
	t.Helper()
	var reqs []*putReq
	for _, n := range ns {
		data := testMsg(n)
		h := newSpoolHeader(testEnv, data, t0.Add(time.Duration(n)*time.Second))
		h.ID = newID(h.EnqueuedAt)
		hdr, err := encodeHeader(h)
		require.NoError(t, err)
		reqs = append(reqs, &putReq{h: h, hdr: hdr, data: data})
	}
	s.commitBatch(reqs)
	var ids []string
	for _, r := range reqs {
		require.NoError(t, r.err)
		ids = append(ids, r.h.ID)
	}
	return ids
}

func listByID(t *testing.T, s *Spool) map[string]Meta {
	t.Helper()
	list, err := s.List(context.Background())
	require.NoError(t, err)
	out := map[string]Meta{}
	for _, m := range list {
		out[m.ID] = m
	}
	return out
}

func claimAll(t *testing.T, s *Spool) []Item {
	t.Helper()
	items, err := s.Claim(context.Background(), "me", t0.Add(24*time.Hour), time.Minute, 1000)
	require.NoError(t, err)
	return items
}

func TestJournalBatchLifecycle(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenSpool(dir, SpoolOptions{ScanInterval: -1})
	require.NoError(t, err)
	ids := putBatch(t, s, 0, 1, 2, 3)
	j := func(parts ...string) string { return filepath.Join(append([]string{dir, "journal"}, parts...)...) }
	segs := files(t, j())
	require.Len(t, segs, 1, "one journal segment")
	bid := strings.TrimSuffix(segs[0], ".log")
	assert.Empty(t, files(t, filepath.Join(dir, "queue")))

	// The owner and a reader in another process both see all four.
	assert.Len(t, listByID(t, s), 4)
	ro, err := OpenSpool(dir, SpoolOptions{Access: AccessReadOnly})
	require.NoError(t, err)
	seen := listByID(t, ro)
	require.Len(t, seen, 4)
	assert.Equal(t, StateQueued, seen[ids[3]].State)
	assert.Equal(t, int64(len(testMsg(3))), seen[ids[3]].Size)

	items := claimAll(t, s)
	require.Len(t, items, 4)
	for i, it := range items {
		assert.Equal(t, ids[i], it.Meta.ID, "FIFO")
		assert.Equal(t, testMsg(i), it.Data)
	}
	require.NoError(t, s.Ack(ctx, ids[0]))
	require.NoError(t, s.Fail(ctx, ids[1], Failure{Reason: "550 5.1.1 no such user"}))
	require.NoError(t, s.Release(ctx, ids[2], Outcome{NextAttempt: t0.Add(time.Hour), CountAttempt: true,
		Err: &DeliveryError{Class: ClassTemporary, Code: 451, Err: fmt.Errorf("busy")}}))
	done, err := os.ReadFile(j(bid + ".done"))
	require.NoError(t, err)
	assert.Equal(t, ids[0]+"\n"+ids[1]+"\n"+ids[2]+"\n", string(done), "delivered, failed, released with its own file")
	assert.FileExists(t, filepath.Join(dir, "queue", ids[2]+".eml"), "a released message has its own file")
	require.NoError(t, s.Close())

	// Reopen: ids[3] was leased when the process stopped.
	s2, err := OpenSpool(dir, SpoolOptions{ScanInterval: -1})
	require.NoError(t, err)
	defer s2.Close()
	got := listByID(t, s2)
	require.Len(t, got, 3)
	assert.NotContains(t, got, ids[0], "delivered stays delivered")
	assert.Equal(t, StateFailed, got[ids[1]].State)
	assert.Equal(t, "550 5.1.1 no such user", got[ids[1]].Reason)
	assert.Equal(t, 1, got[ids[2]].Attempts)
	assert.Equal(t, StateQueued, got[ids[3]].State)
	items = claimAll(t, s2)
	require.Len(t, items, 2)
	assert.Equal(t, []string{ids[2], ids[3]}, []string{items[0].Meta.ID, items[1].Meta.ID})
	assert.Equal(t, testMsg(2), items[0].Data)
	for _, it := range items {
		require.NoError(t, s2.Ack(ctx, it.Meta.ID))
	}
	assert.Empty(t, files(t, j()), "a segment and its .done go with the last message")
	failed, err := os.ReadFile(filepath.Join(dir, "failed", ids[1]+".eml"))
	require.NoError(t, err)
	_, body, err := parseSpoolFile(failed)
	require.NoError(t, err, "the dead letter stands on its own")
	assert.Equal(t, testMsg(1), body)
}

func TestJournalDoneRecords(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenSpool(dir, SpoolOptions{ScanInterval: -1})
	require.NoError(t, err)
	ids := putBatch(t, s, 0, 1, 2)
	bid := strings.TrimSuffix(files(t, filepath.Join(dir, "journal"))[0], ".log")
	claimAll(t, s)
	require.NoError(t, s.Ack(ctx, ids[0]))
	require.NoError(t, s.Ack(ctx, ids[1]))
	require.NoError(t, s.Close())

	// A power cut lost ids[1]'s .done line, and the unlink of ids[0]'s file
	// (found in queue/ by the recovery).
	donePath := filepath.Join(dir, "journal", bid+".done")
	require.NoError(t, os.WriteFile(donePath, []byte(ids[0]+"\n"+ids[1][:5]), 0o600))
	rec := append(mustHeader(t, ids[0], testMsg(0)), testMsg(0)...)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "queue", ids[0]+".eml"), rec, 0o600))

	s2, err := OpenSpool(dir, SpoolOptions{ScanInterval: -1})
	require.NoError(t, err)
	defer s2.Close()
	got := listByID(t, s2)
	require.Len(t, got, 3)
	assert.Contains(t, got, ids[0], "a lost unlink is a duplicate, never a loss")
	assert.Contains(t, got, ids[1], "without its .done line a delivered message is sent again")
	assert.Contains(t, got, ids[2])
	for _, it := range claimAll(t, s2) {
		require.NoError(t, s2.Ack(ctx, it.Meta.ID))
	}
	assert.Empty(t, files(t, filepath.Join(dir, "journal")))
}

// mustHeader is the spool header line of message id with body data.
func mustHeader(t *testing.T, id string, data []byte) []byte {
	t.Helper()
	h := newSpoolHeader(testEnv, data, t0)
	h.ID = id
	b, err := encodeHeader(h)
	require.NoError(t, err)
	return b
}

func TestJournalDamagedBatchIsSalvagedAndQuarantined(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(dir, SpoolOptions{ScanInterval: -1})
	require.NoError(t, err)
	ids := putBatch(t, s, 0, 1, 2)
	name := files(t, filepath.Join(dir, "journal"))[0]
	require.NoError(t, s.Close())

	p := filepath.Join(dir, "journal", name)
	raw, err := os.ReadFile(p)
	require.NoError(t, err)
	recs, end, err := parseSegment(raw)
	require.NoError(t, err)
	require.Len(t, recs, 3)
	assert.Equal(t, int(recs[2].off+recs[2].n), end)
	raw[recs[1].off+recs[1].n-3] ^= 0x20 // a bit flipped in the middle message
	require.NoError(t, os.WriteFile(p, raw, 0o600))

	s2, err := OpenSpool(dir, SpoolOptions{ScanInterval: -1})
	require.NoError(t, err)
	defer s2.Close()
	corrupt := files(t, filepath.Join(dir, "corrupt"))
	assert.Contains(t, corrupt, name, "the segment is kept for the operator")
	reason, err := os.ReadFile(filepath.Join(dir, "corrupt", name+".reason"))
	require.NoError(t, err)
	assert.Contains(t, string(reason), ids[1])
	assert.Contains(t, string(reason), "checksum")
	assert.Empty(t, files(t, filepath.Join(dir, "journal")))
	// The good messages now have their own flushed files.
	assert.ElementsMatch(t, []string{ids[0] + ".eml", ids[2] + ".eml"}, files(t, filepath.Join(dir, "queue")))
	items := claimAll(t, s2)
	require.Len(t, items, 2)
	assert.Equal(t, testMsg(0), items[0].Data)
	assert.Equal(t, testMsg(2), items[1].Data)
}

func TestJournalRestoresAnInterruptedFail(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	q := func(parts ...string) string { return filepath.Join(append([]string{dir}, parts...)...) }
	s, err := OpenSpool(dir, SpoolOptions{ScanInterval: -1})
	require.NoError(t, err)
	ids := putBatch(t, s, 0, 1, 2)
	items := claimAll(t, s)
	require.Len(t, items, 3)
	// ids[2] was tried once: its own file was flushed into queue/.
	require.NoError(t, s.Release(ctx, ids[2], Outcome{NextAttempt: t0.Add(time.Minute), CountAttempt: true}))
	require.NoError(t, s.Close())
	assert.Empty(t, files(t, q("active")))

	// The process died in Fail(ids[1]) after failed/<id>.json was written.
	require.NoError(t, os.WriteFile(q("failed", ids[1]+".json"),
		fmt.Appendf(nil, `{"id":%q,"state":"failed","reason":"552 too big"}`, ids[1]), 0o600))

	s2, err := OpenSpool(dir, SpoolOptions{ScanInterval: -1})
	require.NoError(t, err)
	defer s2.Close()
	got := listByID(t, s2)
	require.Len(t, got, 3)
	assert.Equal(t, StateQueued, got[ids[0]].State, "leased in memory, requeued")
	assert.Equal(t, StateFailed, got[ids[1]].State)
	assert.Equal(t, "552 too big", got[ids[1]].Reason)
	assert.Equal(t, 1, got[ids[2]].Attempts)
	b, err := os.ReadFile(q("failed", ids[1]+".eml"))
	require.NoError(t, err)
	_, body, err := parseSpoolFile(b)
	require.NoError(t, err, "dead letter written from the journal")
	assert.Equal(t, testMsg(1), body)

	items = claimAll(t, s2)
	require.Len(t, items, 2)
	for _, it := range items {
		assert.Equal(t, testMsg(slices.Index(ids, it.Meta.ID)), it.Data)
		require.NoError(t, s2.Ack(ctx, it.Meta.ID))
	}
	assert.Empty(t, files(t, q("journal")))
	assert.Empty(t, files(t, q("corrupt")))
}

func TestJournalClaimRestoresDamagedFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenSpool(dir, SpoolOptions{ScanInterval: -1})
	require.NoError(t, err)
	ids := putBatch(t, s, 0, 1)
	bid := strings.TrimSuffix(files(t, filepath.Join(dir, "journal"))[0], ".log")
	claimAll(t, s)
	require.NoError(t, s.Release(ctx, ids[0], Outcome{NextAttempt: t0}))
	require.NoError(t, s.Close())
	// A power cut lost the .done line of the release; then the file was
	// altered (same length): the journal still has the message.
	require.NoError(t, os.Remove(filepath.Join(dir, "journal", bid+".done")))
	p := filepath.Join(dir, "queue", ids[0]+".eml")
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	b[len(b)-2] ^= 0x01
	require.NoError(t, os.WriteFile(p, b, 0o600))

	s2 := openTestSpool(t, dir)
	items := claimAll(t, s2)
	require.Len(t, items, 2)
	assert.Equal(t, testMsg(0), items[0].Data, "the journal's copy is sent, never the altered file")
	assert.Equal(t, testMsg(1), items[1].Data)
	assert.Contains(t, files(t, filepath.Join(dir, "corrupt")), ids[0]+".eml")
}

func TestJournalConcurrentPuts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTestSpool(t, dir)
	const producers, each = 16, 25
	var wg sync.WaitGroup
	var mu sync.Mutex
	want := map[string]int{}
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				n := p*each + i
				m, err := s.Put(ctx, testEnv, testMsg(n), time.Now())
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				want[m.ID] = n
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Len(t, want, producers*each, "unique IDs")
	assert.Len(t, files(t, filepath.Join(dir, "journal")), 1, "one segment holds them all")

	// Every message is there after a restart, byte for byte.
	require.NoError(t, s.Close())
	s2 := openTestSpool(t, dir)
	items := claimAll(t, s2)
	require.Len(t, items, producers*each)
	for _, it := range items {
		assert.Equal(t, testMsg(want[it.Meta.ID]), it.Data)
		require.NoError(t, s2.Ack(ctx, it.Meta.ID))
	}
	assert.Empty(t, files(t, filepath.Join(dir, "journal")))
	assert.Empty(t, files(t, filepath.Join(dir, "active")))
}

func TestJournalLargeMessageGetsItsOwnFile(t *testing.T) {
	dir := t.TempDir()
	s := openTestSpool(t, dir)
	big := append(testMsg(0), make([]byte, directMin)...)
	m, err := s.Put(context.Background(), testEnv, big, t0)
	require.NoError(t, err)
	assert.Empty(t, files(t, filepath.Join(dir, "journal")))
	assert.Equal(t, []string{m.ID + ".eml"}, files(t, filepath.Join(dir, "queue")))
}
