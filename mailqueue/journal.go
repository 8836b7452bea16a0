package mailqueue

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Group commit through journal batches.
//
// The Spool that owns its folder commits concurrent Puts together. One of
// the waiting producers (the leader) writes every waiting message into one
// batch file, tmp/<batch>.batch, holding the messages' spool files back to
// back (each its "X-Ucxkit-Spool:" line, then the message); it fsyncs that
// file, renames it into journal/ and fsyncs journal/: one pair of flushes
// and one file creation for the whole group instead of one of each per
// message. Creating a file per message would cost more than the flushes
// saved: on ext4 a file creation waits for the journal commit that a
// concurrent fsync started.
//
// A new message lives only in its batch. Claim writes it to active/<id>.eml
// (without an fsync: the batch is the durable copy); Release moves that
// file to queue/ with the metadata. journal/<batch>.done lists the messages
// of a batch that were delivered or made durable dead letters; the batch
// and its .done file are removed with the last one. When the spool opens,
// recovery indexes every unfinished message of every batch and quarantines
// a queue file that a machine crash tore (the batch has the message); Claim
// does the same for a file found torn or altered later.
//
// Messages of directMin bytes or more, and every Put of a Spool that shares
// the folder with its owner, are committed alone in their own fsynced file
// in queue/ (putDirect): a large message gains nothing from sharing a
// flush, and only the owner reads batches.

const (
	dirJournal = "journal" // committed batches <batch>.batch and <batch>.done
	batchExt   = ".batch"
	doneExt    = ".done"

	// maxBatchMessages and maxBatchBytes bound one batch, so that one
	// leader does not hold the others' acknowledgements for long.
	maxBatchMessages = 512
	maxBatchBytes    = 32 << 20
	// directMin is the message size from which Put writes its own file.
	directMin = 1 << 20
)

// locJournal is the location of a message that has no file of its own:
// only its batch in journal/ holds it.
const locJournal = dirJournal

// batchState tracks the unfinished messages of one committed batch.
type batchState struct {
	id   string
	mu   sync.Mutex // serializes the .done appends and the removal
	live int        // messages not yet delivered or failed; guarded by mu
}

// batchRef locates a message's record inside its batch file. The zero
// value means the message's own file is durable (not batch-backed).
type batchRef struct {
	b      *batchState
	off, n int64
}

// putReq is one Put waiting for a group commit.
type putReq struct {
	h    spoolHeader
	hdr  []byte // encoded h
	data []byte
	ref  batchRef
	err  error
	done bool
}

// committer collects concurrent Puts into batches (see putBatched).
type committer struct {
	mu      sync.Mutex
	cond    *sync.Cond
	pending []*putReq
	running bool // a leader is committing a batch
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
		batch := c.take()
		c.running = true
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

// commitBatch makes batch durable in one journal file and indexes its
// messages. It records the outcome in each request.
func (s *Spool) commitBatch(batch []*putReq) {
	fail := func(err error) {
		for _, r := range batch {
			r.err = err
		}
	}
	// IDs must be unique within the batch and the index.
	s.mu.Lock()
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

	bid := newID(time.Now())
	tmp := s.path(dirTmp, bid+batchExt)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		fail(fmt.Errorf("mailqueue: spool: write: %w", err))
		return
	}
	w := bufio.NewWriterSize(f, 256<<10)
	var off int64
	for _, r := range batch {
		n := int64(len(r.hdr) + len(r.data))
		r.ref = batchRef{off: off, n: n}
		off += n
		if _, err = w.Write(r.hdr); err != nil {
			break
		}
		if _, err = w.Write(r.data); err != nil {
			break
		}
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		fail(fmt.Errorf("mailqueue: spool: write: %w", err))
		return
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		fail(s.markBroken(fmt.Errorf("%w: %w", ErrSyncFailed, err)))
		return
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(tmp)
		fail(fmt.Errorf("mailqueue: spool: write: %w", err))
		return
	}
	if err := os.Rename(tmp, s.path(dirJournal, bid+batchExt)); err != nil {
		_ = os.Remove(tmp)
		fail(fmt.Errorf("mailqueue: spool: write: %w", err))
		return
	}
	if err := syncDir(s.path(dirJournal)); err != nil {
		fail(s.markBroken(err))
		return
	}
	b := &batchState{id: bid, live: len(batch)}
	s.mu.Lock()
	if !s.closed {
		for _, r := range batch {
			r.ref.b = b
			s.insertLocked(&entry{meta: metaOf(r.h), loc: locJournal, ref: r.ref})
		}
	}
	s.mu.Unlock()
}

// materialize writes the readable file dir/<id>.eml from parts (through
// tmp/ and a rename, without fsync: the caller holds a durable copy).
func (s *Spool) materialize(dir, id string, parts ...[]byte) (err error) {
	tmp := s.path(dirTmp, id+"."+randHex(4)+".eml")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	for _, p := range parts {
		if err == nil {
			_, err = f.Write(p)
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.path(dir, id+".eml"))
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// readRecord reads and verifies message id's record from its batch.
func (s *Spool) readRecord(id string, ref batchRef) ([]byte, error) {
	f, err := os.Open(s.path(dirJournal, ref.b.id+batchExt))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rec := make([]byte, ref.n)
	if _, err := f.ReadAt(rec, ref.off); err != nil {
		return nil, fmt.Errorf("%w: batch %s: %w", ErrCorrupt, ref.b.id, err)
	}
	h, _, err := parseSpoolFile(rec)
	if err != nil {
		return nil, fmt.Errorf("batch %s: %w", ref.b.id, err)
	}
	if h.ID != id {
		return nil, fmt.Errorf("%w: batch %s holds message %s where %s was expected", ErrCorrupt, ref.b.id, h.ID, id)
	}
	return rec, nil
}

// restore rewrites dir/<id>.eml from the message's batch and returns the
// message (without the spool header line).
func (s *Spool) restore(id string, ref batchRef, dir string) ([]byte, error) {
	rec, err := s.readRecord(id, ref)
	if err != nil {
		return nil, err
	}
	if err := s.materialize(dir, id, rec); err != nil {
		return nil, fmt.Errorf("mailqueue: spool: restore %s from the journal: %w", id, err)
	}
	_, body, _ := parseSpoolFile(rec)
	return body, nil
}

// finish records that a batch-backed message was delivered or made a
// durable dead letter; the last one removes the batch. A finish lost to a
// crash only causes a duplicate delivery.
func (s *Spool) finish(id string, ref batchRef) {
	b := ref.b
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.live--
	if b.live > 0 {
		err := appendLine(s.path(dirJournal, b.id+doneExt), id)
		if err != nil {
			s.log.Warn("mailqueue: spool: recording a finished message in the journal", "id", id, "batch", b.id, "err", err)
		}
		return
	}
	if err := syscallUnlink(s.path(dirJournal, b.id+batchExt)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("mailqueue: spool: removing a finished batch", "batch", b.id, "err", err)
	}
	if err := syscallUnlink(s.path(dirJournal, b.id+doneExt)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("mailqueue: spool: removing a finished batch", "batch", b.id, "err", err)
	}
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

// batchRecord is one message inside a batch file.
type batchRecord struct {
	id     string
	off, n int64
}

// parseBatch splits a batch file into its verified records. It returns
// the good records and the first problem: a record whose message fails its
// checksum is skipped; an unreadable header line ends the parse.
func parseBatch(raw []byte) ([]batchRecord, error) {
	var recs []batchRecord
	var first error
	for off := 0; off < len(raw); {
		rest := raw[off:]
		i := bytes.IndexByte(rest, '\n')
		if i < 0 || i > maxHeaderLine {
			return recs, cmp.Or(first, fmt.Errorf("%w: record at byte %d: no header line", ErrCorrupt, off))
		}
		h, err := parseHeaderLine(rest[:i+1])
		if err != nil {
			return recs, cmp.Or(first, fmt.Errorf("record at byte %d: %w", off, err))
		}
		end := int64(i+1) + h.Size
		if end > int64(len(rest)) {
			return recs, cmp.Or(first, fmt.Errorf("%w: record at byte %d: message %s is cut short", ErrCorrupt, off, h.ID))
		}
		if _, _, err := parseSpoolFile(rest[:end]); err != nil {
			first = cmp.Or(first, fmt.Errorf("record at byte %d (message %s): %w", off, h.ID, err))
		} else {
			recs = append(recs, batchRecord{id: h.ID, off: int64(off), n: end})
		}
		off += int(end)
	}
	return recs, first
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

// liveRecord is an unfinished message of a batch found by recovery.
type liveRecord struct {
	ref batchRef
	h   spoolHeader
}

// replayJournal runs in recovery after active/ was requeued and before
// queue/ is indexed. For every committed batch it removes leftover files of
// finished messages, quarantines damaged queue files of unfinished ones
// and returns the unfinished messages. A batch with a bad record is
// quarantined after its good records were written as ordinary, fsynced
// queue files.
func (s *Spool) replayJournal() (map[string]liveRecord, []*batchState, error) {
	des, err := os.ReadDir(s.path(dirJournal))
	if err != nil {
		return nil, nil, fmt.Errorf("mailqueue: spool: %w", err)
	}
	live := map[string]liveRecord{}
	var batches []*batchState
	have := map[string]bool{}
	for _, de := range des {
		name := de.Name()
		bid, ok := strings.CutSuffix(name, batchExt)
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
		recs, perr := parseBatch(raw)
		donePath := s.path(dirJournal, bid+doneExt)
		done := readDone(donePath)
		b := &batchState{id: bid}
		for _, r := range recs {
			rec := raw[r.off : r.off+r.n]
			q := s.path(dirQueue, r.id+".eml")
			switch {
			case done[r.id]:
				// Delivered or failed; a leftover file is an unlink
				// lost to a crash.
				_ = os.Remove(q)
				_ = os.Remove(s.path(dirQueue, r.id+".json"))
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
				// Kept for the operator; the batch has the message.
				s.quarantine(q, herr)
			}
			if perr == nil {
				rh, _, _ := parseSpoolFile(rec)
				live[r.id] = liveRecord{ref: batchRef{b: b, off: r.off, n: r.n}, h: rh}
				continue
			}
			// Salvage into an ordinary durable file.
			if herr == nil {
				if err := fsyncFile(q); err != nil {
					return nil, nil, s.markBroken(err)
				}
				continue
			}
			tmp := s.path(dirTmp, r.id+"."+randHex(4)+".eml")
			if err := writeSynced(tmp, rec); err != nil {
				if errors.Is(err, ErrSyncFailed) {
					return nil, nil, s.markBroken(err)
				}
				return nil, nil, fmt.Errorf("mailqueue: spool: salvage %s: %w", r.id, err)
			}
			if err := os.Rename(tmp, q); err != nil {
				_ = os.Remove(tmp)
				return nil, nil, fmt.Errorf("mailqueue: spool: salvage %s: %w", r.id, err)
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

// dropFinishedBatches removes the batches whose messages are all finished
// (after recovery counted each batch's indexed messages).
func (s *Spool) dropFinishedBatches(batches []*batchState) {
	for _, b := range batches {
		if b.live == 0 {
			_ = os.Remove(s.path(dirJournal, b.id+batchExt))
			_ = os.Remove(s.path(dirJournal, b.id+doneExt))
		}
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
		bid, ok := strings.CutSuffix(de.Name(), batchExt)
		if !ok || !de.Type().IsRegular() {
			continue
		}
		raw, err := os.ReadFile(s.path(dirJournal, de.Name()))
		if err != nil {
			continue // finished meanwhile
		}
		recs, _ := parseBatch(raw)
		done := readDone(s.path(dirJournal, bid+doneExt))
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
