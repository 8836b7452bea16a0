package certgen

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// File names inside a certificate directory.
const (
	// CertFile holds the certificate alone (PEM, mode 0644): the file an
	// admin downloads and uploads to the PBX.
	CertFile = "cert.pem"
	// KeyFile holds the PKCS#8 private key (PEM, mode 0600).
	KeyFile = "key.pem"
	// BackupCertFile holds the previous certificate while Save replaces
	// the pair; it exists on disk only if Save was interrupted.
	BackupCertFile = "cert.pem.old"
)

// FileError is a problem with one file of a certificate directory; it
// wraps ErrKeyMismatch, ErrBadPEM, ErrIncomplete, ErrNotFound or an
// *fs.PathError.
type FileError struct {
	// Path is the file (or, for ErrNotFound, the directory).
	Path string
	// Err is the cause.
	Err error
}

// Error returns "certgen: <path>: <cause>".
func (e *FileError) Error() string {
	return "certgen: " + e.Path + ": " + strings.TrimPrefix(e.Err.Error(), "certgen: ")
}

// Unwrap returns the cause.
func (e *FileError) Unwrap() error { return e.Err }

// Save writes p to dir as CertFile (0644) and KeyFile (0600), creating dir
// (0700) if needed. Each file is written to a temporary file in dir,
// fsynced, and renamed over the old one, and dir is fsynced. The previous
// certificate is first copied to BackupCertFile and the certificate is
// renamed before the key, so a crash at any point leaves either the old
// pair or the new one usable: Load and Ensure roll an interrupted Save
// back to the old pair.
//
// Writers of one directory (Save, Ensure, RenewDir, in this or another
// process) take turns through LockFile.
func Save(dir string, p *Pair) error {
	if p == nil {
		return errors.New("certgen: save: nil pair")
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer unlock()
	return save(dir, p, nil)
}

// saveStep names the points between the durable steps of save, where tests
// simulate a crash.
type saveStep int

const (
	stepTempsWritten saveStep = iota + 1
	stepBackedUp
	stepCertRenamed
	stepKeyRenamed
)

// errCrash is returned by save when the test hook simulated a crash.
var errCrash = errors.New("certgen: simulated crash")

func save(dir string, p *Pair, crash func(saveStep) bool) error {
	if p == nil {
		return errors.New("certgen: save: nil pair")
	}
	if crash == nil {
		crash = func(saveStep) bool { return false }
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("certgen: %w", err)
	}
	certPath, keyPath, backupPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile), filepath.Join(dir, BackupCertFile)
	certTmp, err := writeTemp(dir, CertFile, p.CertPEM(), 0o644)
	if err != nil {
		return err
	}
	keyTmp, err := writeTemp(dir, KeyFile, p.KeyPEM(), 0o600)
	if err != nil {
		_ = os.Remove(certTmp)
		return err
	}
	crashed := false
	defer func() {
		if !crashed { // a real crash leaves its temporary files behind
			_ = os.Remove(certTmp)
			_ = os.Remove(keyTmp)
		}
	}()
	if crash(stepTempsWritten) {
		crashed = true
		return errCrash
	}
	old, err := readPEMFile(certPath)
	switch {
	case err == nil:
		tmp, err := writeTemp(dir, BackupCertFile, old, 0o644)
		if err != nil {
			return err
		}
		if err := os.Rename(tmp, backupPath); err != nil {
			_ = os.Remove(tmp)
			return fmt.Errorf("certgen: %w", err)
		}
	case errors.Is(err, ErrBadPEM):
		old = nil // not a certificate worth keeping
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("certgen: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	if crash(stepBackedUp) {
		crashed = true
		return errCrash
	}
	if err := os.Rename(certTmp, certPath); err != nil {
		return fmt.Errorf("certgen: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	if crash(stepCertRenamed) {
		crashed = true
		return errCrash
	}
	if err := os.Rename(keyTmp, keyPath); err != nil {
		// Put the old certificate back so the directory holds a pair.
		if old != nil {
			_ = os.Rename(backupPath, certPath)
			_ = syncDir(dir)
		}
		return fmt.Errorf("certgen: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	if crash(stepKeyRenamed) {
		crashed = true
		return errCrash
	}
	if err := os.Remove(backupPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("certgen: %w", err)
	}
	return syncDir(dir)
}

// maxPEMFile bounds what the loaders read: a certificate with a long chain
// is a few tens of kilobytes; a directory pointed at the wrong file must not
// exhaust memory.
const maxPEMFile = 1 << 20

// readPEMFile reads path, refusing files larger than maxPEMFile and
// anything that is not a regular file (a FIFO would block the open, and
// with it Ensure at boot; a device never ends).
func readPEMFile(path string) ([]byte, error) {
	if fi, err := os.Stat(path); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: not a regular file (%s)", ErrBadPEM, fi.Mode().Type())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: not a regular file (%s)", ErrBadPEM, fi.Mode().Type())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxPEMFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxPEMFile {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrBadPEM, maxPEMFile)
	}
	return data, nil
}

// loaded is what load found in a directory.
type loaded struct {
	pair *Pair
	// fromBackup: pair is BackupCertFile + KeyFile (a Save was
	// interrupted after renaming the certificate).
	fromBackup bool
	// cert is the parsed CertFile when it parsed, even if load failed.
	cert *x509.Certificate
	// certOnly: CertFile exists, KeyFile does not.
	certOnly bool
}

// Load reads the pair in dir. It fails with ErrNotFound when dir holds
// neither file, ErrIncomplete when one is missing, ErrKeyMismatch when the
// key is not the certificate's, ErrBadPEM when a file does not parse (all
// wrapped in a *FileError). If a Save was interrupted, Load returns the
// old pair it left (Ensure also repairs the files). Load does not modify
// the directory.
func Load(dir string) (*Pair, error) {
	l, err := load(dir)
	if err != nil {
		return nil, err
	}
	return l.pair, nil
}

func load(dir string) (loaded, error) {
	var l loaded
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	certData, certErr := readPEMFile(certPath)
	keyData, keyErr := readPEMFile(keyPath)
	certMissing, keyMissing := errors.Is(certErr, fs.ErrNotExist), errors.Is(keyErr, fs.ErrNotExist)
	switch {
	case certMissing && keyMissing:
		return l, &FileError{Path: dir, Err: ErrNotFound}
	case certErr != nil && !certMissing:
		return l, &FileError{Path: certPath, Err: certErr}
	case keyErr != nil && !keyMissing:
		return l, &FileError{Path: keyPath, Err: keyErr}
	}
	var certParseErr error
	if !certMissing {
		l.cert, certParseErr = parseCertPEM(certData)
	}
	if keyMissing {
		l.certOnly = true
		return l, &FileError{Path: keyPath, Err: fmt.Errorf("%w: %s exists but %s is missing", ErrIncomplete, CertFile, KeyFile)}
	}
	key, err := parseKeyPEM(keyData)
	if err != nil {
		return l, &FileError{Path: keyPath, Err: err}
	}
	var pairErr error
	switch {
	case certMissing:
		pairErr = &FileError{Path: certPath, Err: fmt.Errorf("%w: %s exists but %s is missing", ErrIncomplete, KeyFile, CertFile)}
	case certParseErr != nil:
		pairErr = &FileError{Path: certPath, Err: certParseErr}
	default:
		p, err := NewPair(l.cert, key)
		if err == nil {
			l.pair = p
			return l, nil
		}
		pairErr = &FileError{Path: keyPath, Err: err}
	}
	// The files do not form a pair: an interrupted Save leaves the old
	// certificate in BackupCertFile, matching the old key.
	if data, err := readPEMFile(filepath.Join(dir, BackupCertFile)); err == nil {
		if old, err := parseCertPEM(data); err == nil {
			if p, err := NewPair(old, key); err == nil {
				l.pair, l.fromBackup = p, true
				return l, nil
			}
		}
	}
	return l, pairErr
}

// Ensure returns the pair in dir, creating it when there is none: the
// host's call at boot. opts must be valid (Host is required).
//
//   - No pair, or a certificate without its key (nothing secret is lost):
//     Generate(opts) and Save; Action "created".
//   - A valid pair: load it, check it with CheckPair; Action "loaded".
//     An expired or expiring pair is reported in the Status, not renewed
//     (call RenewDir). KeyType and validity settings apply to new pairs.
//   - A pair that does not name the required names (computer renamed):
//     reported (State hostname-mismatch), or replaced by a new pair with
//     the same key type when opts.RegenerateOnRename is set (Action
//     "regenerated").
//   - A key that does not match its certificate, a key without its
//     certificate, or a file that does not parse: an error (with a Status
//     whose State is key-mismatch or missing); the files are left as
//     they are.
//
// Ensure also completes the recovery of an interrupted Save, removes
// orphaned temporary files, and tightens a key file readable by others to
// 0600 (a key.pem that is a symbolic link is only reported: chmod would
// change the shared target), logging each repair to opts.Logger. Files
// that are not regular files (a FIFO, a device) are refused as ErrBadPEM.
func Ensure(dir string, opts Options) (*Pair, Status, error) {
	if err := opts.Validate(); err != nil {
		return nil, Status{}, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, Status{}, err
	}
	defer unlock()
	l, err := load(dir)
	switch {
	case err == nil:
	case errors.Is(err, ErrNotFound) || l.certOnly:
		if l.certOnly {
			log.Warn("certgen: certificate without its key; creating a new pair", "dir", dir)
		}
		p, err := Generate(opts)
		if err != nil {
			return nil, Status{}, err
		}
		if _, err := removeOrphans(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, Status{}, err
		}
		if err := save(dir, p, nil); err != nil {
			return nil, Status{}, err
		}
		log.Info("certgen: created certificate", "dir", dir, "pair", p)
		st := CheckPair(p, opts)
		st.Action = ActionCreated
		return p, st, nil
	default:
		return nil, failedStatus(l, opts, err), err
	}
	if err := tidy(dir, l, log); err != nil {
		return nil, Status{}, err
	}
	st := CheckPair(l.pair, opts)
	st.Action = ActionLoaded
	if len(st.MissingNames) == 0 || !opts.RegenerateOnRename {
		return l.pair, st, nil
	}
	p, err := Renew(l.pair, opts)
	if err != nil {
		return nil, Status{}, err
	}
	if err := save(dir, p, nil); err != nil {
		return nil, Status{}, err
	}
	log.Warn("certgen: certificate did not name the computer; regenerated it (upload the new certificate to the PBX)",
		"dir", dir, "missing", st.MissingNames, "old_serial", l.pair.Serial(), "pair", p)
	st = CheckPair(p, opts)
	st.Action = ActionRegenerated
	return p, st, nil
}

// failedStatus is the Status reported with a load error.
func failedStatus(l loaded, opts Options, err error) Status {
	if l.cert != nil && errors.Is(err, ErrKeyMismatch) {
		st := CheckPair(&Pair{cert: l.cert}, opts)
		st.State, st.NeedsAction = StateKeyMismatch, true
		st.Message = fmt.Sprintf("%s does not match %s; restore the matching key or regenerate the pair", KeyFile, CertFile)
		return st
	}
	return Status{State: StateMissing, NeedsAction: true, Host: opts.Host, Message: strings.TrimPrefix(err.Error(), "certgen: ")}
}

// tidy completes the recovery of an interrupted Save, removes orphans and
// fixes the key's mode.
func tidy(dir string, l loaded, log *slog.Logger) error {
	changed := false
	backupPath := filepath.Join(dir, BackupCertFile)
	if l.fromBackup {
		if err := os.Rename(backupPath, filepath.Join(dir, CertFile)); err != nil {
			return fmt.Errorf("certgen: restore old certificate: %w", err)
		}
		changed = true
		log.Warn("certgen: an interrupted save was rolled back to the previous pair", "dir", dir, "pair", l.pair)
	} else if err := os.Remove(backupPath); err == nil {
		changed = true
		log.Info("certgen: removed a stale backup certificate", "path", backupPath)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("certgen: %w", err)
	}
	removed, err := removeOrphans(dir)
	if err != nil {
		return err
	}
	if removed {
		changed = true
		log.Info("certgen: removed temporary files of an interrupted save", "dir", dir)
	}
	keyPath := filepath.Join(dir, KeyFile)
	// A symbolic link is the admin's choice of a key kept elsewhere (often
	// shared with a group, such as Debian's ssl-cert): chmod would follow
	// it and change the target for every other user, so it is only
	// reported. The next Save replaces the link with a regular file.
	if li, err := os.Lstat(keyPath); err == nil && li.Mode()&fs.ModeSymlink != 0 {
		if fi, err := os.Stat(keyPath); err == nil && runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
			log.Warn("certgen: private key is a symbolic link to a file readable by others; its mode was left alone", "path", keyPath, "mode", fi.Mode().Perm().String())
		}
	} else if err == nil && runtime.GOOS != "windows" && li.Mode().Perm()&0o077 != 0 {
		fi := li
		if err := os.Chmod(keyPath, 0o600); err != nil {
			return fmt.Errorf("certgen: %w", err)
		}
		changed = true
		log.Warn("certgen: private key was readable by others; set its mode to 0600", "path", keyPath, "was", fi.Mode().Perm().String())
	}
	if !changed {
		return nil
	}
	return syncDir(dir)
}

// Inspect reports the state of the pair in dir against opts without
// changing anything: StateMissing when there is no complete pair,
// StateKeyMismatch when the key is not the certificate's, else
// CheckPair's verdict (the names checked are those set in opts). The error
// is reserved for files that cannot be read or parsed.
func Inspect(dir string, opts Options) (Status, error) {
	l, err := load(dir)
	switch {
	case err == nil:
		return CheckPair(l.pair, opts), nil
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrIncomplete), errors.Is(err, ErrKeyMismatch):
		return failedStatus(l, opts, err), nil
	}
	return Status{}, err
}

// InspectPEM is Inspect for a pair kept elsewhere than in a directory (a
// database row, a configuration store): StateKeyMismatch when keyPEM is not
// the key of certPEM, else CheckPair's verdict. The error is reserved for
// PEM that does not parse (ErrBadPEM, ErrUnsupportedKey).
func InspectPEM(certPEM, keyPEM []byte, opts Options) (Status, error) {
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return Status{}, err
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return Status{}, err
	}
	p, err := NewPair(cert, key)
	if err != nil {
		return failedStatus(loaded{cert: cert}, opts, err), nil
	}
	return CheckPair(p, opts), nil
}

// RenewDir replaces the pair in dir with Renew(old, opts) and saves it
// (the admin's "regenerate for another 5 years"); Action "renewed". With
// opts.Host empty the names come from the old certificate, which must
// then be readable. With opts.Host set, RenewDir also replaces a pair
// Ensure refuses (mismatched key, missing or unreadable file): it is the
// explicit way out of those states.
func RenewDir(dir string, opts Options) (*Pair, Status, error) {
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, Status{}, err
	}
	defer unlock()
	l, err := load(dir)
	var p *Pair
	switch {
	case err == nil:
		opts = inherit(l.pair.cert, l.pair.KeyType(), opts)
		p, err = Generate(opts)
	case l.cert != nil:
		opts = inherit(l.cert, keyTypeOf(l.cert.PublicKey), opts)
		p, err = Generate(opts)
	case opts.Host != "":
		p, err = Generate(opts)
	}
	if err != nil {
		return nil, Status{}, err
	}
	if p == nil {
		return nil, Status{}, fmt.Errorf("certgen: renew: no readable certificate in %s and no host given", dir)
	}
	if err := save(dir, p, nil); err != nil {
		return nil, Status{}, err
	}
	if opts.Logger != nil {
		opts.Logger.Info("certgen: renewed certificate", "dir", dir, "pair", p)
	}
	st := CheckPair(p, opts)
	st.Action = ActionRenewed
	return p, st, nil
}
