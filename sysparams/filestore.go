package sysparams

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// FileOptions configures OpenFile. The zero value is ready to use.
type FileOptions struct {
	// KeyFile is the key file path. Empty means the parameter file's path
	// with ".key" appended ("params.json.key"). It is created with one new
	// key (mode 0600) at the first save, unless the parameter file already
	// holds sealed secrets: then a missing key file is ErrKeyMissing and no
	// new key is made.
	KeyFile string
	// Logger receives store events (saves, rotations, orphans removed).
	// Nil means silent. Secrets are never logged.
	Logger *slog.Logger
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

// FileStore is the embedded default Store: one JSON file (a Document)
// written atomically, with secrets sealed by a Keyring whose key lives in a
// separate 0600 file. It is safe for concurrent use. Updates from several
// processes are serialized by an advisory lock (flock on "<file>.lock", on
// Unix), so each one starts from the revision the previous one saved;
// readers never lock and always see a whole revision.
type FileStore struct {
	path    string
	keyPath string
	log     *slog.Logger
	now     func() time.Time
	subs    Subscribers

	mu     sync.Mutex // guards keys, last, cache, closed, hook, afterParse
	keys   *Keyring   // nil until loaded or created
	last   *Params    // the parameters last loaded or saved, for Reload
	lastRv int64
	cache  *readCache // the decoded file, while it is unchanged
	closed bool
	hook   crashHook
	// afterParse lets tests act between the reads of the parameter file
	// and of the key file. nil in production.
	afterParse func()
}

var _ Store = (*FileStore)(nil)

// sameFile reports whether a and b name the same file: the same path once
// cleaned and made absolute, or, when both exist, the same file.
func sameFile(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	ab, err2 := filepath.Abs(b)
	if err1 == nil && err2 == nil && aa == ab {
		return true
	}
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// fileKind names the type of a file that is not a regular one.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// maxDocumentSize bounds the parameter file that is read: a real one holds
// a few kilobytes.
const maxDocumentSize = 16 << 20

// OpenFile opens the parameter file at path (which need not exist yet: a
// missing file reads as Defaults() and is created by the first Update).
// It removes temp files left by a crashed write and checks that an
// existing file is a readable parameter document; a corrupt or foreign
// file is reported (*FileError wrapping ErrCorrupt or ErrForeign) and
// never overwritten.
func OpenFile(ctx context.Context, path string, opts FileOptions) (*FileStore, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if path == "" {
		return nil, errors.New("sysparams: open: empty file path")
	}
	s := &FileStore{path: path, keyPath: opts.KeyFile, log: opts.Logger, now: opts.Now}
	if s.keyPath == "" {
		s.keyPath = path + ".key"
	}
	if sameFile(s.keyPath, s.path) || sameFile(s.keyPath, s.lockPath()) {
		// The first save would write the key and then the parameters
		// over it: every secret sealed with a key that no longer exists.
		return nil, fmt.Errorf("sysparams: open: the key file must differ from the parameter file and its lock (%s)", s.keyPath)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.removeOrphans(ctx); err != nil {
		return nil, err
	}
	p, rev, err := s.read()
	if err != nil {
		return nil, err
	}
	s.last, s.lastRv = p, rev
	return s, nil
}

// removeOrphans deletes temp files left by an interrupted write of the
// parameter or key file. It holds the update lock while doing so: without
// it, a store opening in another process would delete the temp file of a
// save in progress there, and that save would fail at its rename. When the
// lock cannot be taken (the folder does not exist yet, or is read-only)
// there is nothing this process could remove anyway, and it skips. The
// lock file is not created when there is no temp file at all, so opening
// a store to read it writes nothing.
func (s *FileStore) removeOrphans(ctx context.Context) error {
	if !hasOrphans(s.path) && !hasOrphans(s.keyPath) {
		return nil
	}
	unlock, err := lockFile(ctx, s.lockPath())
	if err != nil {
		return nil
	}
	defer unlock()
	for _, p := range []string{s.path, s.keyPath} {
		removed, err := removeOrphans(p)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("sysparams: open: %w", err)
		}
		for _, r := range removed {
			s.log.Info("sysparams: removed temp file left by an interrupted write", "file", r)
		}
	}
	return nil
}

// Path returns the parameter file's path.
func (s *FileStore) Path() string { return s.path }

// lockPath is the advisory lock file that serializes updates between
// processes.
func (s *FileStore) lockPath() string { return s.path + ".lock" }

// KeyPath returns the key file's path.
func (s *FileStore) KeyPath() string { return s.keyPath }

// read loads the file: Defaults() and revision 0 when it does not exist.
// Called with mu held or before the store is shared.
func (s *FileStore) read() (*Params, int64, error) {
	p, rev, err := s.readOnce()
	if errors.Is(err, ErrKeyUnknown) {
		// Reads take no lock: a key rotation by another process may have
		// retired the key of the revision read here between the reads of
		// the parameter file and of the key file. The file in place now
		// is sealed with a key the key file holds.
		p, rev, err = s.readOnce()
	}
	return p, rev, err
}

func (s *FileStore) readOnce() (*Params, int64, error) {
	fi, err := os.Stat(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		s.cache = nil
		return Defaults(), 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("sysparams: read %s: %w", s.path, err)
	}
	// A FIFO would block the read forever, a device or a huge file would
	// fill memory: neither is a parameter file.
	if !fi.Mode().IsRegular() {
		return nil, 0, &FileError{Path: s.path, Err: fmt.Errorf("%w: not a regular file but %s", ErrCorrupt, fileKind(fi.Mode()))}
	}
	if fi.Size() > maxDocumentSize {
		return nil, 0, &FileError{Path: s.path, Err: fmt.Errorf("%w: %d bytes, more than the %d a parameter file may hold", ErrCorrupt, fi.Size(), maxDocumentSize)}
	}
	if c := s.cache; c != nil && os.SameFile(fi, c.fi) && fi.ModTime().Equal(c.fi.ModTime()) && fi.Size() == c.fi.Size() {
		// Every save renames a new file into place, so an unchanged
		// file identity, time and size mean unchanged content.
		p, err := c.p.Clone()
		return p, c.rev, err
	}
	s.cache = nil
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return Defaults(), 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("sysparams: read %s: %w", s.path, err)
	}
	d, err := ParseDocument(b)
	if err != nil {
		return nil, 0, &FileError{Path: s.path, Err: err}
	}
	if s.afterParse != nil {
		s.afterParse()
	}
	if len(d.Secrets) > 0 && s.keys == nil {
		k, err := LoadKeyFile(s.keyPath)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, &FileError{Path: s.keyPath, Err: fmt.Errorf("%w: the parameter file holds %d sealed secret%s", ErrKeyMissing, len(d.Secrets), plural(len(d.Secrets)))}
		}
		if err != nil {
			return nil, 0, err
		}
		s.keys = k
	}
	p, err := d.Decode(s.keys)
	if errors.Is(err, ErrKeyUnknown) {
		// Another process may have rotated the key: read the key file again.
		if k, kerr := LoadKeyFile(s.keyPath); kerr == nil {
			s.keys = k
			p, err = d.Decode(s.keys)
		}
	}
	if err != nil {
		return nil, 0, &FileError{Path: s.path, Err: err}
	}
	if keep, err := p.Clone(); err == nil {
		s.cache = &readCache{fi: fi, p: keep, rev: d.Revision}
	}
	return p, d.Revision, nil
}

// readCache is the last file read, decrypted, with the file's identity.
type readCache struct {
	fi  os.FileInfo
	p   *Params
	rev int64
}

// Load returns a copy of the parameters in the file.
func (s *FileStore) Load(ctx context.Context) (*Params, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	p, _, err := s.read()
	return p, err
}

// Revision returns the revision of the file (0 before the first save).
func (s *FileStore) Revision(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	_, rev, err := s.read()
	return rev, err
}

// Update implements Store. The file is re-read first, so changes saved by
// another process are the base of this one.
func (s *FileStore) Update(ctx context.Context, fn func(*Params) error) (Change, error) {
	if err := ctx.Err(); err != nil {
		return Change{}, err
	}
	s.mu.Lock()
	c, err := s.updateLocked(ctx, fn)
	if err != nil || c.Empty() {
		s.mu.Unlock()
		return c, err
	}
	// Hand over to the notification lock before releasing mu, so that
	// changes reach subscribers in the order they were saved.
	s.subs.callMu.Lock()
	s.mu.Unlock()
	s.subs.notifyHeld(c)
	s.subs.callMu.Unlock()
	return c, nil
}

func (s *FileStore) updateLocked(ctx context.Context, fn func(*Params) error) (Change, error) {
	if s.closed {
		return Change{}, ErrClosed
	}
	if err := s.makeDirs(); err != nil {
		return Change{}, err
	}
	unlock, err := lockFile(ctx, s.lockPath())
	if err != nil {
		return Change{}, err
	}
	defer unlock()
	cur, rev, err := s.read()
	if err != nil {
		return Change{}, err
	}
	next, err := cur.Clone()
	if err != nil {
		return Change{}, err
	}
	if err := fn(next); err != nil {
		return Change{}, err
	}
	if err := next.Validate(); err != nil {
		return Change{}, &ValidationError{Err: err}
	}
	c := Diff(cur, next)
	if c.Empty() {
		c.Revision = rev
		return c, nil
	}
	if err := ctx.Err(); err != nil {
		return Change{}, err
	}
	if err := s.save(next, rev+1); err != nil {
		return Change{}, err
	}
	c.Revision = rev + 1
	s.last, s.lastRv = next, rev+1
	s.log.Info("sysparams: saved", "file", s.path, "revision", c.Revision, "fields", c.Fields, "restart", c.Restart.String())
	return c, nil
}

// makeDirs creates the folders of the parameter file (and its lock) and of
// the key file (mode 0700) when they do not exist, so the first Update can
// create a file in a new folder.
func (s *FileStore) makeDirs() error {
	for _, p := range []string{s.path, s.keyPath} {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return fmt.Errorf("sysparams: %w", err)
		}
	}
	return nil
}

// ensureKeys loads the key file again, or creates it. Called with mu and
// the update lock held, before sealing: the keys this store loaded earlier
// may be stale, since another process may have rotated the key and retired
// the one held here (when the parameter file held no secret, read had no
// reason to notice), and a secret sealed with a retired key could never be
// opened again.
func (s *FileStore) ensureKeys() error {
	k, created, err := LoadOrCreateKeyFile(s.keyPath)
	if err != nil {
		return err
	}
	if created {
		s.log.Info("sysparams: created key file", "file", s.keyPath)
	}
	s.keys = k
	return nil
}

func (s *FileStore) save(p *Params, rev int64) error {
	if err := s.ensureKeys(); err != nil {
		return err
	}
	d, err := NewDocument(p, s.keys, rev, s.now())
	if err != nil {
		return err
	}
	b, err := d.Marshal()
	if err != nil {
		return err
	}
	if len(b) > maxDocumentSize {
		// It could not be read back.
		return fmt.Errorf("sysparams: save: the parameters take %d bytes, more than the %d a parameter file may hold", len(b), maxDocumentSize)
	}
	s.cache = nil
	return writeFileAtomic(s.path, b, 0o600, s.hook)
}

// Reload re-reads the file and, if it differs from what this store last
// loaded or saved (another process saved it, an operator edited it),
// notifies subscribers with the difference. Hosts call it on SIGHUP or a
// timer.
func (s *FileStore) Reload(ctx context.Context) (Change, error) {
	if err := ctx.Err(); err != nil {
		return Change{}, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Change{}, ErrClosed
	}
	p, rev, err := s.read()
	if err != nil {
		s.mu.Unlock()
		return Change{}, err
	}
	c := Diff(s.last, p)
	c.Revision = rev
	s.last, s.lastRv = p, rev
	if c.Empty() {
		s.mu.Unlock()
		return c, nil
	}
	s.subs.callMu.Lock()
	s.mu.Unlock()
	s.subs.notifyHeld(c)
	s.subs.callMu.Unlock()
	return c, nil
}

// RotateKey replaces the sealing key: a new key is added to the key file,
// every secret is re-sealed with it and saved, and the old keys are
// removed from the key file. A crash at any step leaves files that open:
// the key file always holds every key the parameter file uses.
func (s *FileStore) RotateKey(ctx context.Context) (newID string, err error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", ErrClosed
	}
	if err := s.makeDirs(); err != nil {
		return "", err
	}
	unlock, err := lockFile(ctx, s.lockPath())
	if err != nil {
		return "", err
	}
	defer unlock()
	p, rev, err := s.read()
	if err != nil {
		return "", err
	}
	if err := s.ensureKeys(); err != nil {
		return "", err
	}
	old := s.keys.PrimaryID()
	// Each step works on a copy of the keyring and adopts it only once the
	// key file holds it, so the keys in memory are always on disk.
	both := s.keys.clone()
	if newID, err = both.Rotate(); err != nil {
		return "", err
	}
	if err := both.WriteKeyFile(s.keyPath); err != nil {
		return "", err
	}
	s.keys = both
	if _, statErr := os.Stat(s.path); statErr == nil {
		if err := s.save(p, rev+1); err != nil {
			return "", err
		}
		s.last, s.lastRv = p, rev+1
	}
	only := both.clone()
	only.Retire()
	if err := only.WriteKeyFile(s.keyPath); err != nil {
		return "", err
	}
	s.keys = only
	s.log.Info("sysparams: rotated key", "old", old, "new", newID)
	return newID, nil
}

// Subscribe implements Store.
func (s *FileStore) Subscribe(fn func(Change)) func() { return s.subs.Subscribe(fn) }

// Close marks the store closed; later calls return ErrClosed. It is
// idempotent.
func (s *FileStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// plural returns "s" unless n is 1.
func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
