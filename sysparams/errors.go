package sysparams

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ucxkit/ucxkit/internal/fielderr"
	"github.com/ucxkit/ucxkit/internal/secret"
)

// Secret is the string type of every password, client secret and key in the
// parameters. It never reveals its value when printed, logged or marshalled;
// the store encrypts it explicitly. It is the same type as proxycfg.Secret,
// mailqueue.Secret and the others, so values move without conversion.
type Secret = secret.Secret

// NewSecret returns a Secret holding v (the empty string gives the unset
// Secret). Secrets of every ucxkit package are the same type.
func NewSecret(v string) Secret { return secret.New(v) }

// FieldError is one validation problem, naming the field by its dotted JSON
// path ("email.port"). Validate returns every problem joined; inspect them
// with errors.As or fielderr-style flattening via errors.Join's Unwrap.
type FieldError = fielderr.Error

// Sentinel errors. Inspect them with errors.Is.
var (
	// ErrCorrupt means the parameter file exists but cannot be read as a
	// parameter document (truncated, not JSON, bad ciphertext). The store
	// never overwrites such a file; the operator must repair or move it.
	ErrCorrupt = errors.New("sysparams: parameter file is corrupt")
	// ErrForeign means the file is JSON but not a ucxkit parameter document
	// (another program's file, or a newer schema version).
	ErrForeign = errors.New("sysparams: file is not a ucxkit parameter document")
	// ErrKeyMissing means the file holds encrypted secrets but the key file
	// is missing, so they cannot be decrypted. A new key is never created in
	// that case.
	ErrKeyMissing = errors.New("sysparams: key file missing for encrypted secrets")
	// ErrKeyUnknown means a secret was sealed with a key the keyring does
	// not hold.
	ErrKeyUnknown = errors.New("sysparams: secret sealed with an unknown key")
	// ErrKeyPermissions means the key file can be read or written by users
	// other than its owner.
	ErrKeyPermissions = errors.New("sysparams: key file permissions too open")
	// ErrDecrypt means a secret failed authentication: wrong key, altered
	// ciphertext, or a ciphertext moved to another field.
	ErrDecrypt = errors.New("sysparams: secret failed to decrypt")
	// ErrClosed is returned by a store after Close.
	ErrClosed = errors.New("sysparams: store closed")
	// ErrConflict is returned by stores with optimistic concurrency when
	// another writer saved first; reload and retry.
	ErrConflict = errors.New("sysparams: concurrent update conflict")
	// ErrEmailDisabled is returned by TestEmail and MailSender when
	// outgoing mail is not enabled.
	ErrEmailDisabled = errors.New("sysparams: outgoing email is not enabled")
)

// FileError reports a problem with a stored file and wraps one of ErrCorrupt,
// ErrForeign, ErrKeyMissing, ErrKeyPermissions or ErrDecrypt.
type FileError struct {
	// Path is the file concerned.
	Path string
	// Err is the sentinel, possibly wrapping a cause.
	Err error
}

// Error returns "sysparams: <path>: <problem>".
func (e *FileError) Error() string { return fmt.Sprintf("%v (%s)", e.Err, e.Path) }

// Unwrap returns the sentinel.
func (e *FileError) Unwrap() error { return e.Err }

// ValidationError wraps the joined field problems of a rejected Update, so
// callers can tell a refused change (errors.As) from a storage failure.
type ValidationError struct {
	// Err is the joined *FieldError problems as returned by Validate.
	Err error
}

// Error lists every problem, one per line.
func (e *ValidationError) Error() string {
	if e.Err == nil {
		return "sysparams: invalid parameters"
	}
	return "sysparams: invalid parameters:\n" + e.Err.Error()
}

// Unwrap returns the joined problems.
func (e *ValidationError) Unwrap() error { return e.Err }

// Problems returns every field problem, in order.
func (e *ValidationError) Problems() []*FieldError {
	var out []*FieldError
	for _, leaf := range fielderr.Flatten(e.Err) {
		var fe *FieldError
		if errors.As(leaf, &fe) {
			out = append(out, fe)
		} else {
			out = append(out, &FieldError{Problem: leaf.Error()})
		}
	}
	return out
}

// pkgPrefixes are the package prefixes that errors of this module and of
// encoding/json begin with.
var pkgPrefixes = []string{
	"sysparams: ", "json: ", "secret: ", "proxycfg: ", "numplan: ", "certgen: ",
	"authchain: ", "o365: ", "smtpsend: ", "mailqueue: ",
}

// trimPkg removes the leading package prefixes of an error text, for an
// error reported inside another that already names its package, so that
// a message says "sysparams: " once instead of "sysparams: ... sysparams:
// json: ...".
func trimPkg(msg string) string {
	for {
		trimmed := msg
		for _, p := range pkgPrefixes {
			trimmed = strings.TrimPrefix(trimmed, p)
		}
		if trimmed == msg {
			return msg
		}
		msg = trimmed
	}
}

// wrapError is another error under this package's prefix: its text
// replaces the inner error's own package prefix, and Unwrap returns the
// inner error for errors.Is and errors.As.
type wrapError struct {
	msg string
	err error
}

// wrap returns err as "<prefix>: <err's text without its package prefix>".
func wrap(prefix string, err error) error {
	return &wrapError{msg: prefix + ": " + trimPkg(err.Error()), err: err}
}

func (e *wrapError) Error() string { return e.msg }
func (e *wrapError) Unwrap() error { return e.err }
