package mailqueue

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// Group commit through a journal.
//
// The Spool that owns its folder commits concurrent Puts together. One of
// the waiting producers (the leader) appends every waiting message to the
// current journal segment, journal/<segment>.log, as spool records back to
// back (each its "X-Ucxkit-Spool:" line, then the message), and flushes
// it with fdatasync: one device flush for the whole group instead of two
// flushes, a file creation and a rename per message. A segment is
// preallocated (written with zeros and fsynced, its folder fsynced) when
// it is created, so that appending changes no file-system metadata and
// the flush needs no file-system journal commit; on ext4 a file creation
// would also wait for the journal commit that a concurrent fsync started.
// A spool starts a new segment when it opens and when the current one is
// full; it never appends to a segment written before.
//
// A new message lives only in its segment. Claim reads it from there and
// leases it in memory: a delivery, which usually succeeds, creates no file
// (a crash requeues every unfinished message anyway). Release and Fail
// write it to its own flushed file in queue/ or failed/, so that every
// file there stands on its own. journal/<segment>.done
// lists the segment's messages that are finished (delivered, released with
// their own file, or dead letters); a full segment and its .done file are
// removed with their last message. When the spool opens, recovery indexes
// every unfinished message of every segment; a segment ends at its first
// zero byte or at a record torn by a crash (never acknowledged), and a
// damaged record followed by good ones sends the segment to corrupt/ after
// its good records were written as ordinary, flushed queue files.
//
// Messages of directMin bytes or more, and every Put of a Spool that shares
// the folder with its owner, are committed alone in their own fsynced file
// in queue/ (putDirect): a large message gains nothing from sharing a
// flush, and only the owner writes the journal.

const (
	dirJournal = "journal" // segments <segment>.log and their <segment>.done
	segmentExt = ".log"
	doneExt    = ".done"

	// segmentSize is the preallocated size of a journal segment: about
	// 500 messages of 4 KiB; a larger group gets a segment of its size.
	segmentSize = 2 << 20
	// maxBatchMessages and maxBatchBytes bound one group commit, so that
	// one leader does not hold the others' acknowledgements for long.
	maxBatchMessages = 512
	maxBatchBytes    = 1 << 20
	// directMin is the message size from which Put writes its own file.
	directMin = 1 << 20
)

// locJournal is the location of a message that has no file of its own:
// only its journal segment holds it.
const locJournal = dirJournal

// segState tracks the unfinished messages of one journal segment.
type segState struct {
	id     string
	mu     sync.Mutex // serializes the .done appends and the removal
	live   int        // messages not yet finished; guarded by mu
	sealed bool       // nothing is appended any more; guarded by mu
}

// segment is the journal segment that the leader appends to.
type segment struct {
	state *segState
	f     *os.File
	off   int64 // end of the records written
	size  int64 // preallocated size
}

// segRef locates a message's record inside its journal segment. The
// zero value means the message's own file is durable (not journaled).
type segRef struct {
	b      *segState
	off, n int64
}

// putReq is one Put waiting for a group commit.
type putReq struct {
	h    spoolHeader
	hdr  []byte // encoded h
	data []byte
	ref  segRef
	err  error
	done bool
}

// committer collects concurrent Puts into batches (see putBatched).
type committer struct {
	mu      sync.Mutex
	cond    *sync.Cond
	pending []*putReq
	running bool // a leader is committing a batch
	closed  bool // the spool closed: no more groups
	groups  int  // group commits made (for benchmarks)
	last    int  // size of the previous group
}

// take removes the next batch from pending, oldest first.
func (c *committer) take() []*putReq {
	n, size := 0, 0
	for n < len(c.pending) && n < maxBatchMessages {
		r := c.pending[n]
		size += len(r.hdr) + len(r.data)
		if n > 0 && size > maxBatchBytes {
			break
		}
		n++
	}
	batch := slices.Clone(c.pending[:n])
	c.pending = slices.Delete(c.pending, 0, n)
	return batch
}

// putBatched commits h and data with every other Put that is waiting at
// the same time.
func (s *Spool) putBatched(h spoolHeader, data []byte) (Meta, error) {
	h.ID = newID(h.EnqueuedAt)
	hdr, err := encodeHeader(h)
	if err != nil {
		return Meta{}, fmt.Errorf("mailqueue: spool: %w", err)
	}
	req := &putReq{h: h, hdr: hdr, data: data}
	c := &s.commit
	c.mu.Lock()
	c.pending = append(c.pending, req)
	for !req.done {
		if c.running {
			c.cond.Wait()
			continue
		}
		if c.last > 1 {
			// The producers of the previous group are on their way
			// back with their next messages: let those that are ready
			// join this group (a yield each, while more arrive; one
			// producer never waits).
			for range c.last {
				n := len(c.pending)
				c.mu.Unlock()
				runtime.Gosched()
				c.mu.Lock()
				if len(c.pending) == n || c.running {
					break
				}
			}
			if c.running {
				continue
			}
		}
		batch := c.take()
		c.last = len(batch)
		if c.closed {
			for _, r := range batch {
				r.err, r.done = ErrStoreClosed, true
			}
			continue
		}
		c.running = true
		c.groups++
		c.mu.Unlock()
		s.commitBatch(batch)
		c.mu.Lock()
		c.running = false
		for _, r := range batch {
			r.done = true
		}
		c.cond.Broadcast()
	}
	c.mu.Unlock()
	if req.err != nil {
		return Meta{}, req.err
	}
	return cloneMeta(metaOf(req.h)), nil
}

// metaOf is the metadata of a newly put message.
func metaOf(h spoolHeader) Meta {
	return Meta{ID: h.ID, Envelope: h.Envelope, State: StateQueued, EnqueuedAt: h.EnqueuedAt,
		NextAttempt: h.EnqueuedAt, Size: h.Size}
}

// commitBatch appends batch to the current journal segment, flushes it
// once and indexes its messages. It records the outcome in each request.
func (s *Spool) commitBatch(batch []*putReq) {
	fail := func(err error) {
		for _, r := range batch {
			r.err = err
		}
	}
	// IDs must be unique within the batch and the index.
	s.mu.Lock()
	if p := s.broken.Load(); p != nil {
		// An earlier group's flush failed while this one waited.
		s.mu.Unlock()
		fail(*p)
		return
	}
	seen := make(map[string]bool, len(batch))
	for _, r := range batch {
		for seen[r.h.ID] || s.entries[r.h.ID] != nil {
			r.h.ID = newID(r.h.EnqueuedAt)
			hdr, err := encodeHeader(r.h)
			if err != nil {
				s.mu.Unlock()
				fail(fmt.Errorf("mailqueue: spool: %w", err))
				return
			}
			r.hdr = hdr
		}
		seen[r.h.ID] = true
	}
	s.mu.Unlock()

	var size int64
	for _, r := range batch {
		size += int64(len(r.hdr) + len(r.data))
	}
	seg := s.seg
	if seg == nil || seg.off+size > seg.size {
		s.sealSegment()
		var err error
		if seg, err = s.newSegment(max(segmentSize, size)); err != nil {
			fail(err)
			return
		}
		s.seg = seg
	}
	buf := make([]byte, 0, size)
	for _, r := range batch {
		r.ref = segRef{b: seg.state, off: seg.off + int64(len(buf)), n: int64(len(r.hdr) + len(r.data))}
		buf = append(append(buf, r.hdr...), r.data...)
	}
	if _, err := seg.f.WriteAt(buf, seg.off); err != nil {
		// Whatever part was written is a torn tail to recovery; the
		// next group starts a new segment.
		s.sealSegment()
		fail(fmt.Errorf("mailqueue: spool: write: %w", err))
		return
	}
	if err := datasync(seg.f); err != nil {
		s.sealSegment()
		fail(s.markBroken(fmt.Errorf("%w: %w", ErrSyncFailed, err)))
		return
	}
	seg.off += size
	seg.state.mu.Lock()
	seg.state.live += len(batch)
	seg.state.mu.Unlock()
	s.mu.Lock()
	if !s.closed {
		for _, r := range batch {
			s.insertLocked(&entry{meta: metaOf(r.h), loc: locJournal, ref: r.ref})
		}
	}
	s.mu.Unlock()
}

// newSegment creates and preallocates a journal segment of size bytes.
func (s *Spool) newSegment(size int64) (*segment, error) {
	id := newID(time.Now())
	p := s.path(dirJournal, id+segmentExt)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("mailqueue: spool: journal: %w", err)
	}
	zero := make([]byte, min(size, 1<<20))
	for n := int64(0); n < size && err == nil; n += int64(len(zero)) {
		_, err = f.Write(zero[:min(int64(len(zero)), size-n)])
	}
	if err != nil {
		_ = f.Close()
		_ = os.Remove(p)
		return nil, fmt.Errorf("mailqueue: spool: journal: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		_ = os.Remove(p)
		return nil, s.markBroken(fmt.Errorf("%w: %w", ErrSyncFailed, err))
	}
	if err := syncDir(s.path(dirJournal)); err != nil {
		_ = f.Close()
		return nil, s.markBroken(err)
	}
	return &segment{state: &segState{id: id}, f: f, size: size}, nil
}

// sealSegment stops appending to the current segment (the leader's, or
// Close's once no Put is running) and removes it when none of its
// messages is left.
func (s *Spool) sealSegment() {
	seg := s.seg
	if seg == nil {
		return
	}
	s.seg = nil
	_ = seg.f.Close()
	b := seg.state
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sealed = true
	if b.live == 0 {
		s.removeSegment(b)
	}
}

// removeSegment deletes a finished segment and its .done file (b.mu held).
func (s *Spool) removeSegment(b *segState) {
	if err := syscallUnlink(s.path(dirJournal, b.id+segmentExt)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("mailqueue: spool: removing a finished journal segment", "segment", b.id, "err", err)
	}
	if err := syscallUnlink(s.path(dirJournal, b.id+doneExt)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("mailqueue: spool: removing a finished journal segment", "segment", b.id, "err", err)
	}
}

// readRecord reads and verifies message id's record from its segment and
// returns it whole and without its spool header line.
func (s *Spool) readRecord(id string, ref segRef) (rec, body []byte, err error) {
	f, err := os.Open(s.path(dirJournal, ref.b.id+segmentExt))
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	rec = make([]byte, ref.n)
	if _, err := f.ReadAt(rec, ref.off); err != nil {
		return nil, nil, fmt.Errorf("%w: journal segment %s: %w", ErrCorrupt, ref.b.id, err)
	}
	h, body, err := parseSpoolFile(rec)
	if err != nil {
		return nil, nil, fmt.Errorf("journal segment %s: %w", ref.b.id, err)
	}
	if h.ID != id {
		return nil, nil, fmt.Errorf("%w: journal segment %s holds message %s where %s was expected", ErrCorrupt, ref.b.id, h.ID, id)
	}
	return rec, body, nil
}

// fromJournal reads message id from its segment. lost reports that the
// record is gone or damaged (not a passing read error).
func (s *Spool) fromJournal(id string, ref segRef) (body []byte, lost bool, err error) {
	_, body, err = s.readRecord(id, ref)
	if err != nil {
		return nil, errors.Is(err, ErrCorrupt) || errors.Is(err, fs.ErrNotExist), err
	}
	return body, false, nil
}

// ownFile writes a journaled message to its own flushed file dir/<id>.eml
// (the caller fsyncs dir).
func (s *Spool) ownFile(id string, ref segRef, dir string) error {
	rec, _, err := s.readRecord(id, ref)
	if err != nil {
		return fmt.Errorf("mailqueue: spool: %s from the journal: %w", id, err)
	}
	return s.writeOwn(dir, id, rec)
}

// writeOwn writes the spool record rec to dir/<id>.eml through tmp/:
// written, fsynced, renamed (the caller fsyncs dir). A failed fsync makes
// the spool refuse writes.
func (s *Spool) writeOwn(dir, id string, rec []byte) error {
	tmp := s.path(dirTmp, id+"."+randHex(4)+".eml")
	if err := writeSynced(tmp, rec); err != nil {
		if errors.Is(err, ErrSyncFailed) {
			return s.markBroken(err)
		}
		return fmt.Errorf("mailqueue: spool: %s from the journal: %w", id, err)
	}
	if err := os.Rename(tmp, s.path(dir, id+".eml")); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("mailqueue: spool: %s from the journal: %w", id, err)
	}
	return nil
}

// finish records that a journaled message was delivered, released with
// its own flushed file, or made a durable dead letter; the last one of a
// sealed segment removes it. A finish lost to a crash only causes a
// duplicate delivery.
func (s *Spool) finish(id string, ref segRef) {
	b := ref.b
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.live--
	if b.live > 0 || !b.sealed {
		err := appendLine(s.path(dirJournal, b.id+doneExt), id)
		if err != nil {
			s.log.Warn("mailqueue: spool: recording a finished message in the journal", "id", id, "segment", b.id, "err", err)
		}
		return
	}
	s.removeSegment(b)
}

// appendLine appends line and a newline to the file at p with one write.
func appendLine(p, line string) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(line + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// segRecord is one message inside a journal segment.
type segRecord struct {
	id     string
	off, n int64
}

// errCutShort is a record that runs past the end of its segment file. A
// crash cannot cause it (a torn group ends in the preallocated zeros): the
// file was cut after its messages were acknowledged.
var errCutShort = fmt.Errorf("%w: record cut short by the end of its segment", ErrCorrupt)

// recordAt parses and verifies the spool record that starts at raw[off].
// For a record whose header line is intact but whose message is damaged,
// it also returns the extent the header claims.
func recordAt(raw []byte, off int) (segRecord, error) {
	rest := raw[off:]
	i := bytes.IndexByte(rest, '\n')
	if i < 0 && len(rest) <= maxHeaderLine && bytes.IndexByte(rest, 0) < 0 {
		return segRecord{}, errCutShort
	}
	if i < 0 || i > maxHeaderLine {
		return segRecord{}, fmt.Errorf("%w: no header line", ErrCorrupt)
	}
	h, err := parseHeaderLine(rest[:i+1])
	if err != nil {
		return segRecord{}, err
	}
	if h.Size > int64(len(rest)-(i+1)) { // compared so that no size overflows
		return segRecord{}, fmt.Errorf("message %s: %w", h.ID, errCutShort)
	}
	end := int64(i+1) + h.Size
	if _, _, err := parseSpoolFile(rest[:end]); err != nil {
		// The extent its header claims, for parseSegment.
		return segRecord{off: int64(off), n: end}, fmt.Errorf("message %s: %w", h.ID, err)
	}
	return segRecord{id: h.ID, off: int64(off), n: end}, nil
}

// nextRecord returns the offset of the first good record at or after
// from, or -1.
func nextRecord(raw []byte, from int) int {
	for from < len(raw) {
		i := bytes.Index(raw[from:], []byte(spoolMagic))
		if i < 0 {
			return -1
		}
		if _, err := recordAt(raw, from+i); err == nil {
			return from + i
		}
		from += i + 1
	}
	return -1
}

// parseSegment splits a journal segment into its verified records and
// returns where its log ends. The log ends at its first zero byte (the
// preallocated rest) or at a damaged record that no good record follows:
// a group torn by a crash, which was never acknowledged. A damaged record
// or zeros that good records follow, and a record cut short by the end of
// the file, is corruption: parseSegment then returns every good record and
// the first problem.
func parseSegment(raw []byte) (recs []segRecord, end int, first error) {
	off := 0
	for off < len(raw) {
		var bad error
		from := off + 1 // where the next good record is looked for
		if raw[off] != 0 {
			r, err := recordAt(raw, off)
			if err == nil {
				recs = append(recs, r)
				off += int(r.n)
				continue
			}
			bad = err
			if r.n > 0 {
				// Its header is intact: what looks like a record
				// inside its message is part of the message (a quoted
				// spool file), never salvaged.
				from = off + int(r.n)
			}
		} else {
			bad = fmt.Errorf("%w: zeros", ErrCorrupt)
		}
		next := nextRecord(raw, from)
		if next < 0 {
			// A torn group, unless the file was cut or the intact
			// header is wrong and hides the records behind it.
			if errors.Is(bad, errCutShort) || (from > off+1 && nextRecord(raw, off+1) >= 0) {
				first = cmp.Or(first, fmt.Errorf("record at byte %d: %w", off, bad))
			}
			return recs, off, first
		}
		first = cmp.Or(first, fmt.Errorf("record at byte %d: %w", off, bad))
		off = next
	}
	return recs, off, first
}

// readDone returns the message IDs listed in a .done file (a torn last
// line is ignored).
func readDone(p string) map[string]bool {
	done := map[string]bool{}
	b, err := os.ReadFile(p)
	if err != nil {
		return done
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if line != "" && !strings.ContainsAny(line, "/\\") {
			done[line] = true
		}
	}
	// A line without its newline may be cut short.
	if len(b) > 0 && b[len(b)-1] != '\n' {
		i := bytes.LastIndexByte(b, '\n')
		delete(done, string(b[i+1:]))
	}
	return done
}

// liveRecord is an unfinished message of a segment found by recovery.
type liveRecord struct {
	ref segRef
	h   spoolHeader
}

// replayJournal runs in recovery after active/ was requeued and before
// queue/ is indexed. For every journal segment it quarantines damaged
// queue files of unfinished messages and returns the unfinished messages. A segment with a bad record is
// quarantined after its good records were written as ordinary, fsynced
// queue files.
func (s *Spool) replayJournal() (map[string]liveRecord, []*segState, error) {
	des, err := os.ReadDir(s.path(dirJournal))
	if err != nil {
		return nil, nil, fmt.Errorf("mailqueue: spool: %w", err)
	}
	live := map[string]liveRecord{}
	var batches []*segState
	have := map[string]bool{}
	for _, de := range des {
		name := de.Name()
		bid, ok := strings.CutSuffix(name, segmentExt)
		p := s.path(dirJournal, name)
		if !ok {
			if !strings.HasSuffix(name, doneExt) {
				s.quarantine(p, fmt.Errorf("%w: unexpected file in journal/", ErrCorrupt))
			}
			continue
		}
		have[bid] = true
		if !de.Type().IsRegular() {
			s.quarantine(p, fmt.Errorf("%w: not a regular file", ErrCorrupt))
			continue
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, fmt.Errorf("mailqueue: spool: journal: %w", err)
		}
		recs, end, perr := parseSegment(raw)
		if end < len(raw) && raw[end] != 0 {
			s.log.Info("mailqueue: spool: journal segment ends in a group torn by a crash (never acknowledged)", "segment", bid, "at", end)
		}
		donePath := s.path(dirJournal, bid+doneExt)
		done := readDone(donePath)
		b := &segState{id: bid, sealed: true}
		for _, r := range recs {
			rec := raw[r.off : r.off+r.n]
			q := s.path(dirQueue, r.id+".eml")
			switch {
			case done[r.id]:
				// Delivered, released with its own flushed file in
				// queue/ (indexed from there), or a dead letter.
				continue
			case exists(s.path(dirFailed, r.id+".eml")):
				// A dead letter whose .done line was lost.
				continue
			}
			h, herr := readHeader(q)
			if herr == nil && h.ID != r.id {
				herr = fmt.Errorf("%w: file %s holds message %s", ErrCorrupt, r.id, h.ID)
			}
			if herr != nil && !errors.Is(herr, fs.ErrNotExist) {
				// Kept for the operator; the segment has the message.
				s.quarantine(q, herr)
			}
			if perr == nil {
				rh, _, _ := parseSpoolFile(rec)
				live[r.id] = liveRecord{ref: segRef{b: b, off: r.off, n: r.n}, h: rh}
				continue
			}
			// Salvage into an ordinary durable file.
			if herr == nil {
				if own, err := os.ReadFile(q); err == nil && bytes.Equal(own, rec) {
					if err := fsyncFile(q); err != nil {
						return nil, nil, s.markBroken(err)
					}
					continue
				}
				// Unflushed and torn or altered: the segment has the
				// message.
				s.quarantine(q, fmt.Errorf("%w: differs from its record in segment %s", ErrCorrupt, bid))
			}
			if err := s.writeOwn(dirQueue, r.id, rec); err != nil {
				return nil, nil, err
			}
		}
		if perr != nil {
			if err := syncDir(s.path(dirQueue)); err != nil {
				return nil, nil, s.markBroken(err)
			}
			s.quarantine(p, perr)
			_ = os.Remove(donePath)
			continue
		}
		batches = append(batches, b)
	}
	for _, de := range des {
		if bid, ok := strings.CutSuffix(de.Name(), doneExt); ok && !have[bid] {
			// Left by a finish interrupted between its two unlinks.
			_ = os.Remove(s.path(dirJournal, de.Name()))
		}
	}
	return live, batches, nil
}

// dropFinishedSegments removes the segments whose messages are all finished
// (after recovery counted each segment's indexed messages).
func (s *Spool) dropFinishedSegments(batches []*segState) {
	for _, b := range batches {
		b.mu.Lock()
		if b.live == 0 {
			s.removeSegment(b)
		}
		b.mu.Unlock()
	}
}

// exists reports whether p names an existing file.
func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// fsyncFile fsyncs an existing file.
func fsyncFile(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSyncFailed, err)
	}
	return nil
}

// readJournalMetas lists the unfinished messages in journal/ that have no
// file of their own, without changing anything (List of a Spool that does
// not own the folder). IDs in skip are left out.
func (s *Spool) readJournalMetas(skip map[string]bool) ([]Meta, error) {
	des, err := os.ReadDir(s.path(dirJournal))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mailqueue: spool: %w", err)
	}
	var out []Meta
	for _, de := range des {
		bid, ok := strings.CutSuffix(de.Name(), segmentExt)
		if !ok || !de.Type().IsRegular() {
			continue
		}
		// The .done file first: the owner removes it after the segment,
		// so a segment still read afterwards had these lines.
		done := readDone(s.path(dirJournal, bid+doneExt))
		raw, err := os.ReadFile(s.path(dirJournal, de.Name()))
		if err != nil {
			continue // finished meanwhile
		}
		recs, _, _ := parseSegment(raw)
		for _, r := range recs {
			if done[r.id] || skip[r.id] {
				continue
			}
			h, _, err := parseSpoolFile(raw[r.off : r.off+r.n])
			if err != nil {
				continue
			}
			m, _, _ := s.journalMeta(h)
			out = append(out, m)
		}
	}
	return out, nil
}
