package mailqueue

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A segment cut short inside a record (an operator's truncate or copy, a
// full disk during a backup restore) lost an acknowledged message: a crash
// cannot do that to a preallocated segment, whose torn groups end in its
// zeros. Its good records are delivered and the segment is kept in
// corrupt/, not deleted with its last delivered message.
func TestJournalAttack2TruncatedSegmentQuarantined(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenSpool(dir, SpoolOptions{ScanInterval: -1})
	require.NoError(t, err)
	ids := putBatch(t, s, 0, 1, 2)
	require.NoError(t, s.Close())
	name := files(t, filepath.Join(dir, "journal"))[0]
	p := filepath.Join(dir, "journal", name)
	raw, err := os.ReadFile(p)
	require.NoError(t, err)
	recs, _, err := parseSegment(raw)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(p, recs[2].off+recs[2].n-5))

	s2, err := OpenSpool(dir, SpoolOptions{ScanInterval: -1})
	require.NoError(t, err)
	defer s2.Close()
	items := claimAll(t, s2)
	require.Len(t, items, 2)
	for i, it := range items {
		assert.Equal(t, ids[i], it.Meta.ID)
		require.NoError(t, s2.Ack(ctx, it.Meta.ID))
	}
	var kept bool
	for _, f := range files(t, filepath.Join(dir, "corrupt")) {
		kept = kept || strings.HasPrefix(f, strings.TrimSuffix(name, segmentExt))
	}
	assert.True(t, kept, "the cut segment is kept for the operator")
}
