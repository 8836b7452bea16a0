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

// When a damaged journal segment is salvaged, a message's own file is
// kept only if it is intact: the segment (quarantined afterwards) is
// otherwise the only good copy.
func TestJournalAttackSalvageChecksQueueFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenSpool(dir, SpoolOptions{ScanInterval: -1})
	require.NoError(t, err)
	ids := putBatch(t, s, 0, 1, 2)
	name := files(t, filepath.Join(dir, "journal"))[0]
	bid := name[:len(name)-len(".log")]
	items, err := s.Claim(ctx, "me", t0, time.Minute, 1)
	require.NoError(t, err)
	require.Len(t, items, 1)
	// ids[0] gets its own file in queue/; a power cut loses the .done line.
	require.NoError(t, s.Release(ctx, ids[0], Outcome{NextAttempt: t0}))
	require.NoError(t, s.Close())
	require.NoError(t, os.Remove(filepath.Join(dir, "journal", bid+".done")))

	// The segment rots in message 1; message 0's file (on a disk that
	// lied about the flush) came back with its length but not all of its
	// bytes.
	p := filepath.Join(dir, "journal", name)
	raw, err := os.ReadFile(p)
	require.NoError(t, err)
	recs, _, err := parseSegment(raw)
	require.NoError(t, err)
	raw[recs[1].off+recs[1].n-3] ^= 0x20
	require.NoError(t, os.WriteFile(p, raw, 0o600))
	q0 := filepath.Join(dir, "queue", ids[0]+".eml")
	b, err := os.ReadFile(q0)
	require.NoError(t, err)
	for i := len(b) - 10; i < len(b); i++ {
		b[i] = 0
	}
	require.NoError(t, os.WriteFile(q0, b, 0o600))

	s2, err := OpenSpool(dir, SpoolOptions{ScanInterval: -1})
	require.NoError(t, err)
	defer s2.Close()
	items = claimAll(t, s2)
	var got []string
	for _, it := range items {
		got = append(got, it.Meta.ID)
		assert.Equal(t, testMsg(indexOf(ids, it.Meta.ID)), it.Data)
	}
	assert.Equal(t, []string{ids[0], ids[2]}, got, "ids[1] is in the quarantined segment")
	assert.Contains(t, files(t, filepath.Join(dir, "corrupt")), ids[0]+".eml", "the damaged file is kept for the operator")
}
