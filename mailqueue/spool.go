package mailqueue

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Spool folder names, relative to the spool root.
const (
	dirTmp     = "tmp"     // files being written; never read as messages
	dirQueue   = "queue"   // committed messages <id>.eml and their <id>.json
	dirActive  = "active"  // <id>.eml of messages leased by the runner
	dirFailed  = "failed"  // dead letters <id>.eml with <id>.json (reason)
	dirCorrupt = "corrupt" // quarantined unreadable files, each with .reason
	dirPickup  = "pickup"  // complete .eml files dropped by other programs
	lockName   = "lock"
)

// spoolMagic starts every spool file. The line is an ordinary header field,
// so a spool file still opens in a mail client; it is stripped before
// sending.
const spoolMagic = "X-Ucxkit-Spool: "

// smallMessage is the size up to which Put copies header and message into
// one buffer to write them with a single system call.
const smallMessage = 64 << 10

// maxHeaderLine bounds the spool header line (envelope JSON).
const maxHeaderLine = 1 << 20

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// SpoolAccess says how a process uses a spool folder.
type SpoolAccess int

// Spool access modes.
const (
	// AccessOwner (the default) takes the folder's lock when it is free,
	// recovers the folder and may deliver; when another process holds the
	// lock the Spool is shared (see Exclusive).
	AccessOwner SpoolAccess = iota
	// AccessShared never takes the lock: the Spool can Put and List while
	// a delivering process owns the folder (a producer such as
	// "mailq enqueue").
	AccessShared
	// AccessReadOnly only Lists; it creates and changes nothing.
	AccessReadOnly
)

// SpoolOptions tunes OpenSpool. The zero value is ready to use.
type SpoolOptions struct {
	// Access is AccessOwner, AccessShared or AccessReadOnly.
	Access SpoolAccess
	// Logger receives recovery, quarantine and fsync-failure events.
	// Nil is silent.
	Logger *slog.Logger
	// TmpMaxAge is how old a file in tmp/ must be before the opening
	// process removes it as the leftover of a crashed writer (younger ones
	// may belong to a live producer in another process). Zero means 10
	// minutes.
	TmpMaxAge time.Duration
	// ScanInterval is how often Claim looks in queue/ for messages put there
	// by other processes (a shared-mode Spool, "mailq enqueue"). Zero means
	// 2 seconds; negative disables scanning.
	ScanInterval time.Duration
}

// spoolHeader is the JSON on the first line of every spool file: what is
// needed to deliver the message and to prove it is complete.
type spoolHeader struct {
	V          int       `json:"v"`
	ID         string    `json:"id"`
	Envelope   Envelope  `json:"envelope"`
	EnqueuedAt time.Time `json:"enqueued_at"`
	Size       int64     `json:"size"`
	CRC32C     string    `json:"crc32c"`
}

type entry struct {
	meta Meta
	loc  string // dirQueue, dirActive or locJournal
	side bool   // queue/<id>.json exists
	ref  segRef // the durable copy in journal/, if any
	gone bool
}

// Spool is the embedded file Store: one folder an operator can read.
//
//	tmp/       files being written (removed when stale at open)
//	journal/   <segment>.log = new messages appended in groups, each a
//	           spool file as in queue/; <segment>.done = IDs of its
//	           finished messages (see Put)
//	queue/     <id>.eml  = one header line "X-Ucxkit-Spool: {json}" + the message
//	           <id>.json = metadata after the first attempt (attempts, next
//	                       attempt, last error and class), rewritten atomically
//	active/    <id>.eml of leased messages (moved back to queue/ at open)
//	failed/    dead letters: <id>.eml and <id>.json with "reason"
//	corrupt/   quarantined unreadable files, each with a <name>.reason
//	pickup/    complete .eml files dropped by other programs (see Pickup)
//
// The commit point of Put is the fdatasync of its group's append to the
// current journal segment (preallocated, so the append changes no
// metadata); a shared Spool and a large message commit with the rename of
// an fsynced file into queue/ and an fsync of queue/. Claim leases a
// journaled message in memory and reads it from its segment; Release and
// Fail give it its own flushed file in queue/ or failed/; Ack records it in
// the segment's .done file without a flush. Ack unlinks a message's own
// file without fsync: losing that unlink or .done line to a power cut only
// causes a duplicate, never a loss. Other processes see a journaled
// message being delivered as queued (it has no file in active/).
//
// One process at a time owns a spool (an advisory lock on the file "lock"):
// it recovers the folder at open and may Claim, Ack, Release and Fail. A
// Spool opened while another process owns the folder is shared: it can Put
// and List (the owner picks new files up within ScanInterval); the other
// methods return ErrSpoolLocked.
//
// A Spool is safe for concurrent use.
type Spool struct {
	dir       string
	log       *slog.Logger
	opts      SpoolOptions
	lock      *os.File // held lock, nil when shared
	queueSync *groupSync
	failSync  *groupSync
	commit    committer
	seg       *segment              // current journal segment; owned by the group-commit leader
	broken    atomic.Pointer[error] // sticky fsync failure
	readOnly  bool

	mu       sync.Mutex // guards entries, order, gone, closed, lastScan
	entries  map[string]*entry
	order    []*entry // FIFO by (EnqueuedAt, ID); may hold gone entries
	gone     int
	closed   bool
	lastScan time.Time
}

var _ Store = (*Spool)(nil)

// OpenSpool opens (creating if needed) the spool folder dir. When it gets
// the folder's lock it recovers the folder: removes stale files from tmp/,
// moves leased messages from active/ back to queue/, completes dead-letter
// moves interrupted by a crash, removes metadata left by an interrupted
// Ack, and quarantines unreadable files in corrupt/.
func OpenSpool(dir string, opts SpoolOptions) (*Spool, error) {
	if dir == "" {
		return nil, errors.New("mailqueue: spool: folder must not be empty")
	}
	if opts.TmpMaxAge == 0 {
		opts.TmpMaxAge = 10 * time.Minute
	}
	if opts.ScanInterval == 0 {
		opts.ScanInterval = 2 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Access == AccessReadOnly {
		s := &Spool{dir: dir, log: log, opts: opts, entries: map[string]*entry{}, readOnly: true}
		return s, nil
	}
	for _, d := range []string{"", dirTmp, dirQueue, dirActive, dirFailed, dirCorrupt, dirPickup, dirJournal} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("mailqueue: spool: %w", err)
		}
	}
	s := &Spool{dir: dir, log: log, opts: opts, entries: map[string]*entry{}}
	s.queueSync = newGroupSync(s.path(dirQueue), s.markBroken)
	s.failSync = newGroupSync(s.path(dirFailed), s.markBroken)
	s.commit.cond = sync.NewCond(&s.commit.mu)
	if opts.Access == AccessShared {
		return s, nil
	}
	lf, locked, err := lockFile(filepath.Join(dir, lockName))
	if err != nil {
		return nil, fmt.Errorf("mailqueue: spool: lock: %w", err)
	}
	if !locked {
		return s, nil
	}
	s.lock = lf
	if err := s.recover(); err != nil {
		_ = unlockFile(lf)
		return nil, err
	}
	s.lastScan = time.Now()
	return s, nil
}

// Dir returns the spool's root folder.
func (s *Spool) Dir() string { return s.dir }

// PickupDir returns the spool's pickup/ folder, for Config.PickupDir.
func (s *Spool) PickupDir() string { return s.path(dirPickup) }

// Exclusive reports whether this Spool owns the folder (it may deliver) or
// shares it with the process that does (it may only Put and List).
func (s *Spool) Exclusive() bool { return s.lock != nil }

func (s *Spool) path(parts ...string) string {
	return filepath.Join(append([]string{s.dir}, parts...)...)
}

func (s *Spool) markBroken(err error) error {
	if !errors.Is(err, ErrSyncFailed) {
		err = fmt.Errorf("%w: %w", ErrSyncFailed, err)
	}
	if s.broken.CompareAndSwap(nil, &err) {
		s.log.Error("mailqueue: spool fsync failed; refusing further writes", "dir", s.dir, "err", err)
	}
	return *s.broken.Load()
}

func (s *Spool) check(owner bool) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrStoreClosed
	}
	if p := s.broken.Load(); p != nil {
		return *p
	}
	if owner && s.lock == nil {
		return ErrSpoolLocked
	}
	return nil
}

// newID returns a unique, time-sortable, file-name-safe message ID.
func newID(now time.Time) string {
	return now.UTC().Format("20060102T150405.000000000Z") + "-" + randHex(4)
}

func encodeHeader(h spoolHeader) ([]byte, error) {
	j, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(spoolMagic)+len(j)+2)
	b = append(b, spoolMagic...)
	b = append(b, j...)
	return append(b, '\r', '\n'), nil
}

// parseHeaderLine decodes the first line of a spool file (with its CRLF).
func parseHeaderLine(line []byte) (spoolHeader, error) {
	var h spoolHeader
	rest, ok := bytes.CutPrefix(line, []byte(spoolMagic))
	if !ok {
		return h, fmt.Errorf("%w: missing %q line", ErrCorrupt, strings.TrimSpace(spoolMagic))
	}
	rest, ok = bytes.CutSuffix(rest, []byte("\r\n"))
	if !ok {
		return h, fmt.Errorf("%w: header line not terminated", ErrCorrupt)
	}
	if err := json.Unmarshal(rest, &h); err != nil {
		return h, fmt.Errorf("%w: header: %w", ErrCorrupt, err)
	}
	if h.V != 1 {
		return h, fmt.Errorf("%w: unknown spool format version %d", ErrCorrupt, h.V)
	}
	if h.ID == "" || h.Size < 0 || len(h.CRC32C) != 8 {
		return h, fmt.Errorf("%w: incomplete header", ErrCorrupt)
	}
	if err := ValidateEnvelope(h.Envelope); err != nil {
		return h, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return h, nil
}

// parseSpoolFile splits a whole spool file into its header and message and
// verifies length and CRC-32C, so a torn or altered file is never sent.
func parseSpoolFile(b []byte) (spoolHeader, []byte, error) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 || i > maxHeaderLine {
		return spoolHeader{}, nil, fmt.Errorf("%w: no header line", ErrCorrupt)
	}
	h, err := parseHeaderLine(b[:i+1])
	if err != nil {
		return h, nil, err
	}
	body := b[i+1:]
	if int64(len(body)) != h.Size {
		return h, nil, fmt.Errorf("%w: message is %d bytes, header says %d (torn write)", ErrCorrupt, len(body), h.Size)
	}
	if got := fmt.Sprintf("%08x", crc32.Checksum(body, crcTable)); got != h.CRC32C {
		return h, nil, fmt.Errorf("%w: checksum %s, header says %s", ErrCorrupt, got, h.CRC32C)
	}
	return h, body, nil
}

// Put stores a new message durably before it returns. In the Spool that
// owns the folder the message is appended to the current journal segment
// together with every other Put waiting at that moment, and the segment is
// flushed once for the group (group commit, see the type's documentation),
// so many producers are not serialized on a flush each. A shared Spool, and
// a message of 1 MiB or more, writes the message to its own file in tmp/,
// fsyncs it, renames it into queue/ and fsyncs queue/.
func (s *Spool) Put(ctx context.Context, env Envelope, data []byte, now time.Time) (Meta, error) {
	if err := ctx.Err(); err != nil {
		return Meta{}, err
	}
	if err := s.check(false); err != nil {
		return Meta{}, err
	}
	if s.readOnly {
		return Meta{}, errors.New("mailqueue: spool opened read-only")
	}
	if err := ValidateEnvelope(env); err != nil {
		return Meta{}, err
	}
	h := newSpoolHeader(env, data, now)
	if s.lock != nil && len(data) < directMin {
		return s.putBatched(h, data)
	}
	return s.putDirect(h, data)
}

// newSpoolHeader describes a new message; the caller sets the ID.
func newSpoolHeader(env Envelope, data []byte, now time.Time) spoolHeader {
	env.To = slices.Clone(env.To)
	return spoolHeader{V: 1, Envelope: env, EnqueuedAt: now.UTC(), Size: int64(len(data)),
		CRC32C: fmt.Sprintf("%08x", crc32.Checksum(data, crcTable))}
}

// putDirect commits one message in its own file: written to tmp/,
// fsynced, renamed into queue/, queue/ fsynced (shared with concurrent
// callers).
func (s *Spool) putDirect(h spoolHeader, data []byte) (Meta, error) {
	now := h.EnqueuedAt
	var req *commitReq
	for range 5 {
		h.ID = newID(now)
		hdr, err := encodeHeader(h)
		if err != nil {
			return Meta{}, fmt.Errorf("mailqueue: spool: %w", err)
		}
		tmp := s.path(dirTmp, h.ID+".eml")
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return Meta{}, fmt.Errorf("mailqueue: spool: write: %w", err)
		}
		if len(data) <= smallMessage {
			// One write(2) instead of two.
			_, err = f.Write(append(hdr, data...))
		} else if _, err = f.Write(hdr); err == nil {
			_, err = f.Write(data)
		}
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
			return Meta{}, fmt.Errorf("mailqueue: spool: write: %w", err)
		}
		req = &commitReq{f: f, tmp: tmp, dst: s.path(dirQueue, h.ID+".eml")}
		break
	}
	if req == nil {
		return Meta{}, errors.New("mailqueue: spool: could not allocate a unique message id")
	}
	// The data fsync runs in the producer's goroutine: concurrent
	// producers' fsyncs are merged by the file system into shared journal
	// commits; the folder fsync after the rename is shared explicitly
	// (groupSync).
	err := req.f.Sync()
	if cerr := req.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(req.tmp, req.dst)
	} else {
		err = s.markBroken(fmt.Errorf("%w: %w", ErrSyncFailed, err))
	}
	if err != nil {
		_ = os.Remove(req.tmp)
		return Meta{}, err
	}
	if err := s.queueSync.sync(); err != nil {
		return Meta{}, err
	}
	m := metaOf(h)
	s.mu.Lock()
	if _, dup := s.entries[m.ID]; !dup && !s.closed {
		s.insertLocked(&entry{meta: m, loc: dirQueue})
	}
	s.mu.Unlock()
	return cloneMeta(m), nil
}

func lessEntry(a, b *entry) int {
	if c := a.meta.EnqueuedAt.Compare(b.meta.EnqueuedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.meta.ID, b.meta.ID)
}

func (s *Spool) insertLocked(e *entry) {
	s.entries[e.meta.ID] = e
	n := len(s.order)
	if n == 0 || lessEntry(s.order[n-1], e) <= 0 {
		s.order = append(s.order, e)
		return
	}
	i, _ := slices.BinarySearchFunc(s.order, e, lessEntry)
	s.order = slices.Insert(s.order, i, e)
}

func (s *Spool) removeLocked(e *entry) {
	if e.gone {
		return
	}
	e.gone = true
	delete(s.entries, e.meta.ID)
	s.gone++
	if s.gone > 64 && s.gone > len(s.order)/2 {
		s.order = slices.DeleteFunc(s.order, func(x *entry) bool { return x.gone })
		s.gone = 0
	}
}

func cloneMeta(m Meta) Meta {
	m.Envelope.To = slices.Clone(m.Envelope.To)
	return m
}

// Claim leases up to max due messages, oldest first, moving their files to
// active/. Unreadable files are quarantined and skipped.
func (s *Spool) Claim(ctx context.Context, owner string, now time.Time, lease time.Duration, max int) ([]Item, error) {
	if err := s.check(true); err != nil {
		return nil, err
	}
	if max <= 0 {
		max = 1
	}
	s.maybeScan()
	s.mu.Lock()
	var picked []*entry
	for _, e := range s.order {
		if e.gone || e.meta.NextAttempt.After(now) {
			continue
		}
		if e.meta.State == StateLeased && now.Before(e.meta.LeaseExpires) {
			continue
		}
		e.meta.State = StateLeased
		e.meta.LeaseOwner = owner
		e.meta.LeaseExpires = now.Add(lease)
		picked = append(picked, e)
		if len(picked) == max {
			break
		}
	}
	s.mu.Unlock()
	items := make([]Item, 0, len(picked))
	for i, e := range picked {
		if err := ctx.Err(); err != nil {
			s.unlease(picked[i:])
			return items, err
		}
		b, ok, err := s.lease(e)
		if err != nil {
			s.unlease(picked[i:])
			return items, err
		}
		if !ok {
			continue
		}
		s.mu.Lock()
		m := cloneMeta(e.meta)
		s.mu.Unlock()
		items = append(items, Item{Meta: m, Data: b})
	}
	return items, nil
}

// lease moves a picked message's file to active/ and reads it. A file that
// is missing or unreadable is rewritten from the journal when the message
// is journaled, else quarantined (ok false: the entry is dropped).
func (s *Spool) lease(e *entry) (body []byte, ok bool, err error) {
	s.mu.Lock()
	loc, id, ref := e.loc, e.meta.ID, e.ref
	s.mu.Unlock()
	setLoc := func(l string) {
		s.mu.Lock()
		e.loc = l
		s.mu.Unlock()
	}
	drop := func() {
		s.mu.Lock()
		s.removeLocked(e)
		s.mu.Unlock()
	}
	if loc == dirQueue {
		err := os.Rename(s.path(dirQueue, id+".eml"), s.path(dirActive, id+".eml"))
		switch {
		case errors.Is(err, fs.ErrNotExist) && ref.b != nil:
			s.log.Warn("mailqueue: spool: message file vanished; delivering it from the journal", "id", id)
			loc = locJournal
			setLoc(locJournal)
		case errors.Is(err, fs.ErrNotExist):
			s.log.Warn("mailqueue: spool: message file vanished", "id", id)
			drop()
			return nil, false, nil
		case err != nil:
			return nil, false, fmt.Errorf("mailqueue: spool: lease %s: %w", id, err)
		default:
			setLoc(dirActive)
		}
	}
	if loc == locJournal {
		// Leased in memory only: no file is made for a delivery that
		// usually succeeds (a crash requeues every unfinished message).
		body, lost, err := s.fromJournal(id, ref)
		if err != nil && !lost {
			return nil, false, err // still queued: the segment has it
		}
		if err != nil {
			// The journal copy is damaged: recovery quarantines the
			// segment at the next open.
			s.log.Error("mailqueue: spool: cannot read message from the journal", "id", id, "err", err)
			drop()
			return nil, false, nil
		}
		return body, true, nil
	}
	p := s.path(dirActive, id+".eml")
	b, err := os.ReadFile(p)
	if err == nil {
		var h spoolHeader
		h, b, err = parseSpoolFile(b)
		if err == nil && h.ID != id {
			err = fmt.Errorf("%w: file %s holds message %s", ErrCorrupt, id, h.ID)
		}
	}
	if err == nil {
		return b, true, nil
	}
	s.quarantine(p, err)
	if ref.b != nil {
		setLoc(locJournal)
		body, lost, rerr := s.fromJournal(id, ref)
		if rerr == nil {
			s.log.Warn("mailqueue: spool: delivering message from the journal", "id", id)
			return body, true, nil
		}
		if !lost {
			return nil, false, rerr // still queued: the segment has it
		}
		s.log.Error("mailqueue: spool: cannot read message from the journal", "id", id, "err", rerr)
	}
	drop()
	return nil, false, nil
}

func (s *Spool) unlease(es []*entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range es {
		if !e.gone {
			e.meta.State = StateQueued
			e.meta.LeaseOwner = ""
			e.meta.LeaseExpires = time.Time{}
		}
	}
}

func (s *Spool) lookup(id string) (*entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return e, nil
}

// Ack removes a delivered message: its file first (the commit record), then
// its metadata.
func (s *Spool) Ack(ctx context.Context, id string) error {
	if err := s.check(true); err != nil {
		return err
	}
	e, err := s.lookup(id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	loc, side, ref := e.loc, e.side, e.ref
	s.mu.Unlock()
	if loc == locJournal {
		// No file of its own: the .done line below is the record.
	} else if err := syscallUnlink(s.path(loc, id+".eml")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("mailqueue: spool: ack %s: %w", id, err)
	}
	if side {
		if err := syscallUnlink(s.path(dirQueue, id+".json")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("mailqueue: spool: removing metadata", "id", id, "err", err)
		}
	}
	s.mu.Lock()
	ref = segRef{}
	if !e.gone {
		ref = e.ref // not finished by a racing Ack, Fail or Release
	}
	s.removeLocked(e)
	s.mu.Unlock()
	s.finish(id, ref)
	return nil
}

// Release records a failed attempt in queue/<id>.json (written to tmp/,
// fsynced, renamed, folder fsynced) and moves the message back to queue/.
func (s *Spool) Release(ctx context.Context, id string, o Outcome) error {
	if err := s.check(true); err != nil {
		return err
	}
	e, err := s.lookup(id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	m := cloneMeta(e.meta)
	loc, ref := e.loc, e.ref
	s.mu.Unlock()
	if o.CountAttempt {
		m.Attempts++
	}
	if o.Err != nil {
		m.LastError = o.Err.Error()
		m.LastClass = ClassOf(o.Err)
	}
	m.PossibleDuplicate = m.PossibleDuplicate || o.PossibleDuplicate
	m.NextAttempt = o.NextAttempt.UTC()
	m.State = StateQueued
	m.LeaseOwner = ""
	m.LeaseExpires = time.Time{}
	if err := s.writeMeta(dirQueue, m); err != nil {
		return err
	}
	s.mu.Lock()
	e.side = true
	s.mu.Unlock()
	switch loc {
	case dirActive:
		if err := os.Rename(s.path(dirActive, id+".eml"), s.path(dirQueue, id+".eml")); err != nil {
			return fmt.Errorf("mailqueue: spool: release %s: %w", id, err)
		}
	case locJournal:
		// Every file in queue/ stands on its own: the journal segment
		// can go once its other messages are done.
		if err := s.ownFile(id, ref, dirQueue); err != nil {
			return err
		}
	}
	if err := s.queueSync.sync(); err != nil {
		return err
	}
	s.mu.Lock()
	if e.gone {
		// A racing Ack or Fail (after the lease ran out) finished the
		// message: the file written here must not bring it back.
		s.mu.Unlock()
		_ = syscallUnlink(s.path(dirQueue, id+".eml"))
		_ = syscallUnlink(s.path(dirQueue, id+".json"))
		return nil
	}
	e.meta = m
	e.loc = dirQueue
	e.side = true
	ref = segRef{}
	if loc == locJournal {
		ref, e.ref = e.ref, segRef{}
	}
	s.mu.Unlock()
	s.finish(id, ref)
	return nil
}

// writeMeta writes m as <dir>/<id>.json through tmp/ and a rename. The
// caller fsyncs dir.
func (s *Spool) writeMeta(dir string, m Meta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("mailqueue: spool: %w", err)
	}
	tmp := s.path(dirTmp, m.ID+"."+randHex(4)+".json")
	if err := writeSynced(tmp, b, []byte("\n")); err != nil {
		if errors.Is(err, ErrSyncFailed) {
			return s.markBroken(err)
		}
		return fmt.Errorf("mailqueue: spool: metadata %s: %w", m.ID, err)
	}
	if err := os.Rename(tmp, s.path(dir, m.ID+".json")); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("mailqueue: spool: metadata %s: %w", m.ID, err)
	}
	return nil
}

// Fail moves a message to failed/ with its reason: failed/<id>.json is
// written first, then the message file follows and failed/ is fsynced.
func (s *Spool) Fail(ctx context.Context, id string, f Failure) error {
	if err := s.check(true); err != nil {
		return err
	}
	e, err := s.lookup(id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	m := cloneMeta(e.meta)
	loc, ref := e.loc, e.ref
	s.mu.Unlock()
	m.State = StateFailed
	m.Reason = f.Reason
	if f.CountAttempt {
		m.Attempts++
	}
	if f.Err != nil {
		m.LastError = f.Err.Error()
		m.LastClass = ClassOf(f.Err)
	}
	m.LeaseOwner = ""
	m.LeaseExpires = time.Time{}
	if err := s.writeMeta(dirFailed, m); err != nil {
		return err
	}
	var ferr error
	if loc == locJournal {
		// A dead letter stands on its own.
		ferr = s.ownFile(id, ref, dirFailed)
	} else if err := os.Rename(s.path(loc, id+".eml"), s.path(dirFailed, id+".eml")); err != nil {
		ferr = fmt.Errorf("mailqueue: spool: fail %s: %w", id, err)
	}
	if ferr != nil {
		// The message stays; recovery would otherwise complete this
		// dead-letter move even after a later attempt released it.
		_ = syscallUnlink(s.path(dirFailed, id+".json"))
		return ferr
	}
	if err := s.failSync.sync(); err != nil {
		return err
	}
	_ = syscallUnlink(s.path(dirQueue, id+".json"))
	s.mu.Lock()
	ref = segRef{}
	if !e.gone {
		ref = e.ref // not finished by a racing Ack, Fail or Release
	}
	s.removeLocked(e)
	s.mu.Unlock()
	s.finish(id, ref)
	return nil
}

// List returns the metadata of every message (queued, leased and failed),
// oldest first. A shared Spool reads it from the folder.
func (s *Spool) List(ctx context.Context) ([]Meta, error) {
	if err := s.check(false); err != nil && !errors.Is(err, ErrSyncFailed) {
		return nil, err
	}
	var out []Meta
	if s.lock != nil {
		s.mu.Lock()
		for _, e := range s.order {
			if !e.gone {
				out = append(out, cloneMeta(e.meta))
			}
		}
		s.mu.Unlock()
	} else {
		for _, d := range []string{dirQueue, dirActive} {
			ms, err := s.readDirMetas(d)
			if err != nil {
				return nil, err
			}
			out = append(out, ms...)
		}
	}
	failed, err := s.readDirMetas(dirFailed)
	if err != nil {
		return nil, err
	}
	out = append(out, failed...)
	if s.lock == nil {
		seen := make(map[string]bool, len(out))
		for _, m := range out {
			seen[m.ID] = true
		}
		js, err := s.readJournalMetas(seen)
		if err != nil {
			return nil, err
		}
		out = append(out, js...)
	}
	slices.SortStableFunc(out, func(a, b Meta) int {
		if c := a.EnqueuedAt.Compare(b.EnqueuedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// readDirMetas reads the metadata of the messages in one folder without
// changing anything (used by List; unreadable files are skipped).
func (s *Spool) readDirMetas(dir string) ([]Meta, error) {
	des, err := os.ReadDir(s.path(dir))
	if s.readOnly && errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mailqueue: spool: %w", err)
	}
	var out []Meta
	for _, de := range des {
		id, ok := strings.CutSuffix(de.Name(), ".eml")
		if !ok || strings.HasPrefix(id, ".") {
			continue
		}
		m, err := s.loadMeta(dir, id)
		if err != nil {
			continue
		}
		switch dir {
		case dirActive:
			m.State = StateLeased
		case dirFailed:
			m.State = StateFailed
			if m.Reason == "" {
				m.Reason = "dead letter (reason lost in a crash)"
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// readHeader reads and checks the header line of a spool file and that the
// file has the announced length.
func readHeader(p string) (spoolHeader, error) {
	f, err := os.Open(p)
	if err != nil {
		return spoolHeader{}, err
	}
	defer f.Close()
	br := bufio.NewReader(io.LimitReader(f, maxHeaderLine))
	line, err := br.ReadBytes('\n')
	if err != nil {
		return spoolHeader{}, fmt.Errorf("%w: no header line", ErrCorrupt)
	}
	h, err := parseHeaderLine(line)
	if err != nil {
		return h, err
	}
	fi, err := f.Stat()
	if err != nil {
		return h, err
	}
	if want := int64(len(line)) + h.Size; fi.Size() != want {
		return h, fmt.Errorf("%w: file is %d bytes, header says %d (torn write)", ErrCorrupt, fi.Size(), want)
	}
	return h, nil
}

// loadMeta builds the metadata of message id from <dir>/<id>.eml and, if
// present, the sidecar <id>.json (queue/ keeps it for queued and active
// messages).
func (s *Spool) loadMeta(dir, id string) (Meta, error) {
	m, _, err := s.loadMetaSide(dir, id)
	return m, err
}

// loadMetaSide is loadMeta that also reports whether a sidecar exists.
func (s *Spool) loadMetaSide(dir, id string) (Meta, bool, error) {
	h, err := readHeader(s.path(dir, id+".eml"))
	if err != nil {
		return Meta{}, false, err
	}
	if h.ID != id {
		return Meta{}, false, fmt.Errorf("%w: file %s holds message %s", ErrCorrupt, id, h.ID)
	}
	side := dirQueue
	if dir == dirFailed {
		side = dirFailed
	}
	return s.withSidecar(h, side)
}

// journalMeta is the metadata of a message that only its journal segment holds:
// its header plus queue/<id>.json if an attempt failed. With unreadable
// metadata it returns the header's and the error.
func (s *Spool) journalMeta(h spoolHeader) (Meta, bool, error) {
	m, side, err := s.withSidecar(h, dirQueue)
	if err != nil {
		return metaOf(h), false, err
	}
	return m, side, nil
}

// withSidecar builds the metadata of message h from its header and, if
// present, the sidecar <side>/<id>.json.
func (s *Spool) withSidecar(h spoolHeader, side string) (Meta, bool, error) {
	m := metaOf(h)
	b, err := os.ReadFile(s.path(side, h.ID+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return m, false, nil
	}
	if err != nil {
		return Meta{}, false, err
	}
	var sm Meta
	if err := json.Unmarshal(b, &sm); err != nil || sm.ID != h.ID {
		return m, true, fmt.Errorf("%w: metadata %s.json: unreadable", ErrCorrupt, h.ID)
	}
	// The message file is authoritative for what it holds.
	sm.Envelope, sm.EnqueuedAt, sm.Size = h.Envelope, h.EnqueuedAt, h.Size
	return sm, true, nil
}

// quarantine moves an unreadable file to corrupt/ next to a .reason file.
func (s *Spool) quarantine(p string, why error) {
	base := filepath.Base(p)
	dst := s.path(dirCorrupt, base)
	for i := 1; ; i++ {
		if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
			break
		}
		dst = s.path(dirCorrupt, base+"."+strconv.Itoa(i))
	}
	if err := os.Rename(p, dst); err != nil {
		s.log.Error("mailqueue: spool: cannot quarantine", "file", p, "err", err)
		return
	}
	_ = os.WriteFile(dst+".reason", []byte(why.Error()+"\n"), 0o600)
	_ = syncDir(s.path(dirCorrupt))
	s.log.Warn("mailqueue: spool: quarantined unreadable file", "file", base, "to", dst, "err", why)
}

// recover brings the folder to a consistent state after a crash. It runs
// with the lock held, before the Spool is shared.
func (s *Spool) recover() error {
	now := time.Now()
	// tmp/: leftovers of crashed writers (never committed).
	des, err := os.ReadDir(s.path(dirTmp))
	if err != nil {
		return fmt.Errorf("mailqueue: spool: %w", err)
	}
	for _, de := range des {
		fi, err := de.Info()
		if err == nil && now.Sub(fi.ModTime()) >= s.opts.TmpMaxAge {
			_ = os.Remove(s.path(dirTmp, de.Name()))
		}
	}
	// active/: leases of a dead runner go back to the queue.
	des, err = os.ReadDir(s.path(dirActive))
	if err != nil {
		return fmt.Errorf("mailqueue: spool: %w", err)
	}
	for _, de := range des {
		name := de.Name()
		src := s.path(dirActive, name)
		if !strings.HasSuffix(name, ".eml") || !de.Type().IsRegular() {
			s.quarantine(src, fmt.Errorf("%w: unexpected file in active/", ErrCorrupt))
			continue
		}
		dst := s.path(dirQueue, name)
		if _, err := os.Lstat(dst); err == nil {
			_ = os.Remove(src)
			continue
		}
		if err := os.Rename(src, dst); err != nil {
			return fmt.Errorf("mailqueue: spool: requeue %s: %w", name, err)
		}
		s.log.Info("mailqueue: spool: requeued leased message", "file", name)
	}
	// journal/: the unfinished messages of the segments.
	live, batches, err := s.replayJournal()
	if err != nil {
		return err
	}
	// failed/: finish dead-letter moves that a crash interrupted.
	des, err = os.ReadDir(s.path(dirFailed))
	if err != nil {
		return fmt.Errorf("mailqueue: spool: %w", err)
	}
	for _, de := range des {
		id, ok := strings.CutSuffix(de.Name(), ".json")
		if !ok {
			continue
		}
		if _, err := os.Lstat(s.path(dirFailed, id+".eml")); err == nil {
			_ = os.Remove(s.path(dirQueue, id+".json"))
			continue
		}
		if _, err := os.Lstat(s.path(dirQueue, id+".eml")); err == nil {
			if err := os.Rename(s.path(dirQueue, id+".eml"), s.path(dirFailed, id+".eml")); err != nil {
				return fmt.Errorf("mailqueue: spool: finish dead letter %s: %w", id, err)
			}
			if _, ok := live[id]; ok {
				// Claimed from the journal without a flush.
				if err := fsyncFile(s.path(dirFailed, id+".eml")); err != nil {
					return s.markBroken(err)
				}
				delete(live, id)
			}
			_ = os.Remove(s.path(dirQueue, id+".json"))
			continue
		}
		if r, ok := live[id]; ok {
			// The dead letter's message is still in its journal segment.
			if err := s.ownFile(id, r.ref, dirFailed); err != nil {
				return fmt.Errorf("mailqueue: spool: finish dead letter: %w", err)
			}
			_ = os.Remove(s.path(dirQueue, id+".json"))
			delete(live, id)
			continue
		}
		s.quarantine(s.path(dirFailed, de.Name()), fmt.Errorf("%w: dead-letter metadata without its message", ErrCorrupt))
	}
	// queue/: index the committed messages.
	des, err = os.ReadDir(s.path(dirQueue))
	if err != nil {
		return fmt.Errorf("mailqueue: spool: %w", err)
	}
	emls := map[string]bool{}
	for _, de := range des {
		if id, ok := strings.CutSuffix(de.Name(), ".eml"); ok && de.Type().IsRegular() {
			emls[id] = true
		}
	}
	for _, de := range des {
		name := de.Name()
		p := s.path(dirQueue, name)
		if id, ok := strings.CutSuffix(name, ".json"); ok && !emls[id] {
			if _, ok := live[id]; ok {
				continue // metadata of a message in the journal
			}
			// Left by an Ack interrupted between its two unlinks.
			_ = os.Remove(p)
			continue
		}
		id, ok := strings.CutSuffix(name, ".eml")
		if !ok {
			if !strings.HasSuffix(name, ".json") {
				s.quarantine(p, fmt.Errorf("%w: unexpected file in queue/", ErrCorrupt))
			}
			continue
		}
		if !de.Type().IsRegular() {
			s.quarantine(p, fmt.Errorf("%w: not a regular file", ErrCorrupt))
			continue
		}
		m, side, err := s.loadMetaSide(dirQueue, id)
		if err != nil && errors.Is(err, ErrCorrupt) && strings.Contains(err.Error(), ".json") {
			// Keep the message, drop the unreadable metadata.
			s.quarantine(s.path(dirQueue, id+".json"), err)
			m, side, err = s.loadMetaSide(dirQueue, id)
		}
		if err != nil {
			s.quarantine(p, err)
			continue
		}
		m.State = StateQueued
		m.LeaseOwner, m.LeaseExpires = "", time.Time{}
		r := live[id]
		delete(live, id)
		if r.ref.b != nil {
			r.ref.b.live++
		}
		s.insertLocked(&entry{meta: m, loc: dirQueue, side: side, ref: r.ref})
	}
	// The rest of the journal's messages have no file of their own.
	for id, r := range live {
		m, side, err := s.journalMeta(r.h)
		if err != nil {
			s.quarantine(s.path(dirQueue, id+".json"), err)
		}
		m.State = StateQueued
		m.LeaseOwner, m.LeaseExpires = "", time.Time{}
		r.ref.b.live++
		s.insertLocked(&entry{meta: m, loc: locJournal, side: side, ref: r.ref})
	}
	for _, d := range []string{dirQueue, dirActive, dirFailed, dirTmp, dirJournal} {
		if err := syncDir(s.path(d)); err != nil {
			return s.markBroken(err)
		}
	}
	// Last: a segment goes once none of its messages is left.
	s.dropFinishedSegments(batches)
	return nil
}

// maybeScan indexes messages that other processes put into queue/.
func (s *Spool) maybeScan() {
	if s.opts.ScanInterval < 0 {
		return
	}
	s.mu.Lock()
	due := time.Since(s.lastScan) >= s.opts.ScanInterval
	if due {
		s.lastScan = time.Now()
	}
	s.mu.Unlock()
	if due {
		s.Rescan()
	}
}

// Rescan indexes messages put into queue/ by other processes (it also runs
// by itself from Claim every ScanInterval) and returns how many it found.
func (s *Spool) Rescan() int {
	if s.lock == nil {
		return 0
	}
	des, err := os.ReadDir(s.path(dirQueue))
	if err != nil {
		return 0
	}
	n := 0
	for _, de := range des {
		id, ok := strings.CutSuffix(de.Name(), ".eml")
		if !ok {
			continue
		}
		s.mu.Lock()
		_, known := s.entries[id]
		s.mu.Unlock()
		if known {
			continue
		}
		m, side, err := s.loadMetaSide(dirQueue, id)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			s.quarantine(s.path(dirQueue, de.Name()), err)
			continue
		}
		s.mu.Lock()
		if _, known := s.entries[id]; !known && !s.closed {
			s.insertLocked(&entry{meta: m, loc: dirQueue, side: side})
			n++
		}
		s.mu.Unlock()
	}
	return n
}

// Depth returns the number of queued and leased messages and the
// enqueue time of the oldest (zero when empty), without I/O.
func (s *Spool) Depth() (int, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.entries)
	for _, e := range s.order {
		if !e.gone {
			return n, e.meta.EnqueuedAt
		}
	}
	return n, time.Time{}
}

// NextDue returns the earliest time a queued message becomes due, and
// false when nothing is queued. Leased messages count at their lease
// expiry.
func (s *Spool) NextDue(ctx context.Context) (time.Time, bool, error) {
	if err := s.check(false); err != nil {
		return time.Time{}, false, err
	}
	s.maybeScan()
	s.mu.Lock()
	defer s.mu.Unlock()
	var next time.Time
	found := false
	for _, e := range s.order {
		if e.gone {
			continue
		}
		t := e.meta.NextAttempt
		if e.meta.State == StateLeased {
			t = e.meta.LeaseExpires
		}
		if !found || t.Before(next) {
			next, found = t, true
		}
	}
	return next, found, nil
}

// Close releases the lock. Messages stay in the folder; leased ones are
// requeued by the next OpenSpool. Close is idempotent.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.entries = map[string]*entry{}
	s.order = nil
	s.mu.Unlock()
	if s.readOnly {
		return nil
	}
	// No group commit runs after this; the segment is sealed.
	c := &s.commit
	c.mu.Lock()
	for c.running {
		c.cond.Wait()
	}
	c.closed = true
	s.sealSegment()
	c.cond.Broadcast()
	c.mu.Unlock()
	if s.lock != nil {
		return unlockFile(s.lock)
	}
	return nil
}

// syscallUnlink removes a file with one unlink(2); os.Remove also tries
// rmdir(2) when unlink fails, doubling the cost of a missing file.
func syscallUnlink(p string) error {
	if err := syscall.Unlink(p); err != nil {
		return &fs.PathError{Op: "unlink", Path: p, Err: err}
	}
	return nil
}
