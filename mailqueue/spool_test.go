package mailqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	t0      = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	testEnv = Envelope{From: "vm@example.com", To: []string{"bob@example.com"}}
)

func testMsg(n int) []byte {
	return fmt.Appendf(nil, "From: vm@example.com\r\nTo: bob@example.com\r\nSubject: message %d\r\n\r\nbody %d\r\n", n, n)
}

func openTestSpool(t *testing.T, dir string) *Spool {
	t.Helper()
	s, err := OpenSpool(dir, SpoolOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	return out
}

func TestSpoolLifecycle(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTestSpool(t, dir)
	require.True(t, s.Exclusive())

	var ids []string
	for i := range 3 {
		m, err := s.Put(ctx, testEnv, testMsg(i), t0.Add(time.Duration(i)*time.Second))
		require.NoError(t, err)
		assert.Equal(t, StateQueued, m.State)
		assert.Equal(t, int64(len(testMsg(i))), m.Size)
		ids = append(ids, m.ID)
	}
	// New messages are in the journal segment.
	assert.Empty(t, files(t, filepath.Join(dir, "queue")))
	assert.Empty(t, files(t, filepath.Join(dir, "tmp")))
	segs := files(t, filepath.Join(dir, "journal"))
	require.Len(t, segs, 1)
	info, err := os.Stat(filepath.Join(dir, "journal", segs[0]))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	// Nothing is due before its time; then FIFO.
	items, err := s.Claim(ctx, "me", t0.Add(-time.Second), time.Minute, 10)
	require.NoError(t, err)
	assert.Empty(t, items)
	items, err = s.Claim(ctx, "me", t0.Add(time.Hour), time.Minute, 2)
	require.NoError(t, err)
	require.Len(t, items, 2)
	assert.Equal(t, ids[0], items[0].Meta.ID)
	assert.Equal(t, ids[1], items[1].Meta.ID)
	assert.Equal(t, testMsg(0), items[0].Data, "the spool header is stripped")
	assert.Equal(t, StateLeased, items[0].Meta.State)
	assert.Empty(t, files(t, filepath.Join(dir, "active")), "a journaled message is leased in memory")

	// A leased message is not claimed twice while its lease holds.
	items2, err := s.Claim(ctx, "other", t0.Add(time.Hour), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, items2, 1)
	assert.Equal(t, ids[2], items2[0].Meta.ID)

	require.NoError(t, s.Ack(ctx, ids[0]))
	assert.NoFileExists(t, filepath.Join(dir, "active", ids[0]+".eml"))

	boom := &DeliveryError{Class: ClassTemporary, Step: "rcpt", Code: 451, Enhanced: "4.3.0", Err: errors.New("try later")}
	next := t0.Add(2 * time.Hour)
	require.NoError(t, s.Release(ctx, ids[1], Outcome{NextAttempt: next, Err: boom, CountAttempt: true, PossibleDuplicate: true}))
	assert.FileExists(t, filepath.Join(dir, "queue", ids[1]+".eml"))
	var side Meta
	b, err := os.ReadFile(filepath.Join(dir, "queue", ids[1]+".json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &side))
	assert.Equal(t, 1, side.Attempts)
	assert.Equal(t, ClassTemporary, side.LastClass)
	assert.Contains(t, side.LastError, "451")
	assert.True(t, side.PossibleDuplicate)
	assert.True(t, next.Equal(side.NextAttempt))
	assert.Contains(t, string(b), `"last_class": "temporary"`, "metadata is human-readable")

	require.NoError(t, s.Fail(ctx, ids[2], Failure{Reason: "550 5.1.1 no such user"}))
	assert.FileExists(t, filepath.Join(dir, "failed", ids[2]+".eml"))
	assert.Contains(t, files(t, filepath.Join(dir, "journal")), segs[0], "the current segment stays")
	b, err = os.ReadFile(filepath.Join(dir, "failed", ids[2]+".json"))
	require.NoError(t, err)
	assert.Contains(t, string(b), "550 5.1.1 no such user")

	list, err := s.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, ids[1], list[0].ID)
	assert.Equal(t, StateQueued, list[0].State)
	assert.Equal(t, StateFailed, list[1].State)
	assert.Equal(t, "550 5.1.1 no such user", list[1].Reason)

	n, oldest := s.Depth()
	assert.Equal(t, 1, n)
	assert.True(t, oldest.Equal(t0.Add(time.Second)))
	due, ok, err := s.NextDue(ctx)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.True(t, due.Equal(next))

	// Reopen: state survives.
	require.NoError(t, s.Close())
	s2 := openTestSpool(t, dir)
	list2, err := s2.List(ctx)
	require.NoError(t, err)
	assert.Equal(t, list, list2)

	assert.ErrorIs(t, s.Ack(ctx, ids[1]), ErrStoreClosed)
	assert.ErrorIs(t, s2.Ack(ctx, "nope"), ErrNotFound)
}

func TestSpoolPutValidates(t *testing.T) {
	s := openTestSpool(t, t.TempDir())
	cases := map[string]Envelope{
		"no recipient":     {From: "a@b"},
		"empty recipient":  {From: "a@b", To: []string{""}},
		"CRLF injection":   {From: "a@b\r\nRCPT TO:<x@y>", To: []string{"c@d"}},
		"angle brackets":   {From: "a@b", To: []string{"<c@d>"}},
		"too long":         {From: "a@b", To: []string{string(make([]byte, 300))}},
		"header injection": {From: "a@b", To: []string{"c@d\nX-Evil: 1"}},
	}
	for name, env := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := s.Put(context.Background(), env, testMsg(1), t0)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidEnvelope)
			var fe *FieldError
			assert.ErrorAs(t, err, &fe)
			assert.Contains(t, fe.Field, "envelope.")
		})
	}
	_, err := s.Put(context.Background(), Envelope{To: []string{"c@d"}}, testMsg(1), t0)
	assert.NoError(t, err, "the null reverse path is allowed")
}

// TestSpoolRecovery damages a spool in every way a crash or an operator
// can, for messages committed through the journal (the owner's Put) and
// for messages in their own files (a shared Spool's Put): unreadable files
// are quarantined, never deleted; a journaled message comes back from its
// batch, an own-file message is lost only to damage of its one copy.
func TestSpoolRecovery(t *testing.T) {
	for _, journaled := range []bool{true, false} {
		t.Run(fmt.Sprintf("journaled=%v", journaled), func(t *testing.T) { testSpoolRecovery(t, journaled) })
	}
}

func testSpoolRecovery(t *testing.T, journaled bool) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenSpool(dir, SpoolOptions{TmpMaxAge: time.Nanosecond, ScanInterval: -1})
	require.NoError(t, err)
	put := s
	if !journaled {
		put, err = OpenSpool(dir, SpoolOptions{Access: AccessShared})
		require.NoError(t, err)
	}
	var ids []string
	for i := range 6 {
		m, err := put.Put(ctx, testEnv, testMsg(i), t0.Add(time.Duration(i)*time.Second))
		require.NoError(t, err)
		ids = append(ids, m.ID)
	}
	q := func(parts ...string) string { return filepath.Join(append([]string{dir}, parts...)...) }
	if journaled {
		assert.Equal(t, []string{mustBatchOf(t, dir, ids[0])}, files(t, q("journal")), "one journal segment")
	} else {
		assert.Empty(t, files(t, q("journal")))
		require.Equal(t, 6, s.Rescan())
	}
	// Leased when the process "died".
	items, err := s.Claim(ctx, "me", t0.Add(time.Hour), time.Minute, 1)
	require.NoError(t, err)
	require.Len(t, items, 1)
	if journaled {
		// Messages 1 to 4 were tried once and wait in queue/ with their
		// own (flushed) files and metadata.
		items, err := s.Claim(ctx, "me", t0.Add(time.Hour), time.Minute, 4)
		require.NoError(t, err)
		require.Len(t, items, 4)
		for _, it := range items {
			require.NoError(t, s.Release(ctx, it.Meta.ID, Outcome{NextAttempt: t0.Add(time.Minute), CountAttempt: true}))
		}
	}
	require.NoError(t, s.Close())
	require.NoError(t, put.Close())

	// A crashed writer's temp file.
	require.NoError(t, os.WriteFile(q("tmp", "x.eml"), []byte("partial"), 0o600))
	// A torn message file (crash before fsync on a lying disk).
	b, err := os.ReadFile(q("queue", ids[1]+".eml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(q("queue", ids[1]+".eml"), b[:len(b)-5], 0o600))
	// Garbage with a message name.
	require.NoError(t, os.WriteFile(q("queue", "garbage.eml"), []byte("hello\r\n"), 0o600))
	// Metadata left by an interrupted Ack.
	require.NoError(t, os.WriteFile(q("queue", "gone.json"), []byte("{}"), 0o600))
	// Unreadable metadata of a good message: the message is kept.
	require.NoError(t, os.WriteFile(q("queue", ids[2]+".json"), []byte("{not json"), 0o600))
	// An interrupted Fail: failed/<id>.json written, message not yet moved.
	require.NoError(t, os.WriteFile(q("failed", ids[3]+".json"),
		fmt.Appendf(nil, `{"id":%q,"state":"failed","reason":"550 rejected"}`, ids[3]), 0o600))
	// A body altered after the fact (same length, wrong checksum).
	b, err = os.ReadFile(q("queue", ids[4]+".eml"))
	require.NoError(t, err)
	b[len(b)-3] ^= 0x20
	require.NoError(t, os.WriteFile(q("queue", ids[4]+".eml"), b, 0o600))

	s2, err := OpenSpool(dir, SpoolOptions{TmpMaxAge: time.Nanosecond})
	require.NoError(t, err)
	defer s2.Close()
	assert.Empty(t, files(t, q("tmp")))
	assert.Empty(t, files(t, q("active")))
	assert.NoFileExists(t, q("queue", "gone.json"))
	corrupt := files(t, q("corrupt"))
	assert.Contains(t, corrupt, ids[1]+".eml")
	assert.Contains(t, corrupt, ids[1]+".eml.reason")
	assert.Contains(t, corrupt, "garbage.eml")
	assert.Contains(t, corrupt, ids[2]+".json")
	reason, err := os.ReadFile(q("corrupt", ids[1]+".eml.reason"))
	require.NoError(t, err)
	assert.Contains(t, string(reason), "torn")

	list, err := s2.List(ctx)
	require.NoError(t, err)
	byID := map[string]Meta{}
	for _, m := range list {
		byID[m.ID] = m
	}
	assert.Equal(t, StateQueued, byID[ids[0]].State, "leased message requeued")
	assert.Equal(t, StateQueued, byID[ids[2]].State, "message with bad metadata kept")
	assert.Equal(t, StateFailed, byID[ids[3]].State, "interrupted dead-letter move completed")
	assert.Equal(t, "550 rejected", byID[ids[3]].Reason)
	assert.NotContains(t, byID, ids[1], "a file torn on a lying disk is lost (and kept in corrupt/)")

	// The altered message is caught when claimed, never sent.
	items, err = s2.Claim(ctx, "me", t0.Add(time.Hour), time.Minute, 10)
	require.NoError(t, err)
	var got []string
	for _, it := range items {
		got = append(got, it.Meta.ID)
		assert.Equal(t, testMsg(indexOf(ids, it.Meta.ID)), it.Data)
	}
	assert.Equal(t, []string{ids[0], ids[2], ids[5]}, got)
	assert.Contains(t, files(t, q("corrupt")), ids[4]+".eml")
	for _, it := range items {
		require.NoError(t, s2.Ack(ctx, it.Meta.ID))
	}
	assert.Empty(t, files(t, q("journal")), "every journaled message finished")
}

func indexOf(ids []string, id string) int {
	for i, x := range ids {
		if x == id {
			return i
		}
	}
	return -1
}

// mustBatchOf returns the file name of the segment in journal/ that holds
// message id (it scans the segments, as an operator would with grep).
func mustBatchOf(t *testing.T, dir, id string) string {
	t.Helper()
	des, err := os.ReadDir(filepath.Join(dir, "journal"))
	require.NoError(t, err)
	for _, de := range des {
		b, err := os.ReadFile(filepath.Join(dir, "journal", de.Name()))
		require.NoError(t, err)
		if !strings.HasSuffix(de.Name(), ".log") {
			continue
		}
		recs, _, err := parseSegment(b)
		require.NoError(t, err)
		for _, r := range recs {
			if r.id == id {
				return de.Name()
			}
		}
	}
	return "no-batch-holds-" + id
}

func TestSpoolShared(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	owner, err := OpenSpool(dir, SpoolOptions{ScanInterval: -1})
	require.NoError(t, err)
	defer owner.Close()
	other, err := OpenSpool(dir, SpoolOptions{})
	require.NoError(t, err)
	defer other.Close()
	assert.False(t, other.Exclusive())

	m, err := other.Put(ctx, testEnv, testMsg(1), t0)
	require.NoError(t, err)
	_, err = other.Claim(ctx, "x", t0, time.Minute, 1)
	assert.ErrorIs(t, err, ErrSpoolLocked)
	list, err := other.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)

	assert.Equal(t, 1, owner.Rescan())
	items, err := owner.Claim(ctx, "me", t0, time.Minute, 1)
	require.NoError(t, err)
	require.Len(t, items, 1)
	assert.Equal(t, m.ID, items[0].Meta.ID)
	list, err = other.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, StateLeased, list[0].State)
}

func TestSpoolConcurrentPut(t *testing.T) {
	ctx := context.Background()
	s := openTestSpool(t, t.TempDir())
	var wg sync.WaitGroup
	const producers, each = 8, 25
	ids := make(chan string, producers*each)
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				m, err := s.Put(ctx, testEnv, testMsg(p*1000+i), time.Now())
				if !assert.NoError(t, err) {
					return
				}
				ids <- m.ID
			}
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		assert.False(t, seen[id])
		seen[id] = true
	}
	assert.Len(t, seen, producers*each)
	n, _ := s.Depth()
	assert.Equal(t, producers*each, n)
	items, err := s.Claim(ctx, "me", time.Now().Add(time.Hour), time.Minute, producers*each)
	require.NoError(t, err)
	assert.Len(t, items, producers*each)
}

func TestSpoolLeaseExpiry(t *testing.T) {
	ctx := context.Background()
	s := openTestSpool(t, t.TempDir())
	m, err := s.Put(ctx, testEnv, testMsg(1), t0)
	require.NoError(t, err)
	items, err := s.Claim(ctx, "a", t0, time.Minute, 1)
	require.NoError(t, err)
	require.Len(t, items, 1)
	items, err = s.Claim(ctx, "b", t0.Add(30*time.Second), time.Minute, 1)
	require.NoError(t, err)
	assert.Empty(t, items)
	items, err = s.Claim(ctx, "b", t0.Add(2*time.Minute), time.Minute, 1)
	require.NoError(t, err)
	require.Len(t, items, 1, "an expired lease is claimable again")
	assert.Equal(t, m.ID, items[0].Meta.ID)
	assert.Equal(t, "b", items[0].Meta.LeaseOwner)
}

func FuzzParseSpoolFile(f *testing.F) {
	h, err := encodeHeader(spoolHeader{V: 1, ID: "x", Envelope: testEnv, Size: 3, CRC32C: "352441c2"})
	require.NoError(f, err)
	f.Add(append(h, "abc"...))
	f.Add([]byte("X-Ucxkit-Spool: {}\r\n"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, body, err := parseSpoolFile(b)
		if err != nil {
			assert.ErrorIs(t, err, ErrCorrupt)
			return
		}
		assert.Equal(t, h.Size, int64(len(body)))
		assert.NoError(t, ValidateEnvelope(h.Envelope))
	})
}

func TestSpoolAccessModes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	ro, err := OpenSpool(filepath.Join(dir, "missing"), SpoolOptions{Access: AccessReadOnly})
	require.NoError(t, err)
	list, err := ro.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, list)
	_, err = ro.Put(ctx, testEnv, testMsg(1), t0)
	assert.Error(t, err, "read-only refuses Put")
	assert.NoDirExists(t, filepath.Join(dir, "missing"), "read-only creates nothing")

	shared, err := OpenSpool(dir, SpoolOptions{Access: AccessShared})
	require.NoError(t, err)
	defer shared.Close()
	assert.False(t, shared.Exclusive())
	m, err := shared.Put(ctx, testEnv, testMsg(1), t0)
	require.NoError(t, err)
	_, err = shared.Claim(ctx, "x", t0, time.Minute, 1)
	assert.ErrorIs(t, err, ErrSpoolLocked)

	// A shared spool did not take the lock: an owner can still open.
	owner := openTestSpool(t, dir)
	assert.True(t, owner.Exclusive())
	items, err := owner.Claim(ctx, "me", t0, time.Minute, 1)
	require.NoError(t, err)
	require.Len(t, items, 1)
	assert.Equal(t, m.ID, items[0].Meta.ID)

	// Run refuses a spool another process owns.
	second, err := OpenSpool(dir, SpoolOptions{})
	require.NoError(t, err)
	defer second.Close()
	q, err := New(Config{Store: second, Sender: &scripted{}})
	require.NoError(t, err)
	assert.ErrorIs(t, q.Run(ctx), ErrSpoolLocked)
}
