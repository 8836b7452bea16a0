package mailqueue

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A message body may hold a line that looks like a spool header with any
// size. When a crash tears the record holding it, recovery scans the torn
// record for the next good one and must not panic on that size (the spool
// would never open again).
func TestJournalAttack2HugeSizeInTornRecord(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(dir, SpoolOptions{ScanInterval: -1})
	require.NoError(t, err)
	fake := spoolHeader{V: 1, ID: "x", Envelope: testEnv, Size: math.MaxInt64, CRC32C: "00000000"}
	line, err := encodeHeader(fake)
	require.NoError(t, err)
	body := append([]byte("From: vm@example.com\r\nTo: bob@example.com\r\n\r\nquoted:\r\n"), line...)
	body = append(body, []byte("end\r\n")...)
	h := newSpoolHeader(testEnv, body, t0)
	h.ID = newID(t0)
	hdr, err := encodeHeader(h)
	require.NoError(t, err)
	ids := putBatch(t, s, 0)
	req := &putReq{h: h, hdr: hdr, data: body}
	s.commitBatch([]*putReq{req})
	require.NoError(t, req.err)
	require.NoError(t, s.Close())

	// A crash tore the second group: its last bytes never reached the disk.
	p := filepath.Join(dir, "journal", files(t, filepath.Join(dir, "journal"))[0])
	raw, err := os.ReadFile(p)
	require.NoError(t, err)
	recs, _, err := parseSegment(raw)
	require.NoError(t, err)
	require.Len(t, recs, 2)
	end := recs[1].off + recs[1].n
	for i := end - 4; i < end; i++ {
		raw[i] = 0
	}
	require.NoError(t, os.WriteFile(p, raw, 0o600))

	s2, err := OpenSpool(dir, SpoolOptions{ScanInterval: -1})
	require.NoError(t, err)
	defer s2.Close()
	items := claimAll(t, s2)
	require.Len(t, items, 1, "the torn group was never acknowledged")
	assert.Equal(t, ids[0], items[0].Meta.ID)
}

// A message may quote a whole spool file (an operator forwarding a stuck
// queue file to support). When a crash tears the group holding it, the
// quoted file is not a record of the segment: it must not be delivered,
// and the torn group was never acknowledged.
func TestJournalAttack2QuotedSpoolFileInTornRecord(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(dir, SpoolOptions{ScanInterval: -1})
	require.NoError(t, err)
	quoted := testMsg(7)
	qh := newSpoolHeader(testEnv, quoted, t0)
	qh.ID = "quoted"
	qhdr, err := encodeHeader(qh)
	require.NoError(t, err)
	body := []byte("From: ops@example.com\r\nTo: support@example.com\r\n\r\nthe stuck file:\r\n")
	body = append(append(append(body, qhdr...), quoted...), []byte("\r\nthanks\r\n")...)
	h := newSpoolHeader(testEnv, body, t0)
	h.ID = newID(t0)
	hdr, err := encodeHeader(h)
	require.NoError(t, err)
	ids := putBatch(t, s, 0)
	req := &putReq{h: h, hdr: hdr, data: body}
	s.commitBatch([]*putReq{req})
	require.NoError(t, req.err)
	require.NoError(t, s.Close())

	p := filepath.Join(dir, "journal", files(t, filepath.Join(dir, "journal"))[0])
	raw, err := os.ReadFile(p)
	require.NoError(t, err)
	recs, _, err := parseSegment(raw)
	require.NoError(t, err)
	require.Len(t, recs, 2)
	end := recs[1].off + recs[1].n
	for i := end - 4; i < end; i++ {
		raw[i] = 0 // torn by a crash
	}
	require.NoError(t, os.WriteFile(p, raw, 0o600))

	s2, err := OpenSpool(dir, SpoolOptions{ScanInterval: -1})
	require.NoError(t, err)
	defer s2.Close()
	items := claimAll(t, s2)
	var got []string
	for _, it := range items {
		got = append(got, it.Meta.ID)
	}
	assert.Equal(t, []string{ids[0]}, got, "the quoted file is not a message")
}
