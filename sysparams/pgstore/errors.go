package pgstore

import (
	"errors"
	"fmt"

	"github.com/ucxkit/ucxkit/sysparams"
)

// Sentinel errors of the PostgreSQL parameter store. Compare with
// errors.Is. The store also returns sysparams.ErrClosed after Close,
// sysparams.ErrConflict (inside *ConflictError) for a stale update, and
// the sysparams document errors (ErrForeign, ErrCorrupt, ErrKeyMissing,
// ErrDecrypt, ErrKeyUnknown) for a stored set it cannot read.
var (
	// ErrSchemaTooNew is returned by Open when the database schema was
	// migrated by a newer build than this one.
	ErrSchemaTooNew = errors.New("sysparams/pgstore: database schema is newer than this build")
	// ErrBadPayload is wrapped by errors about a notification payload
	// that is not one this package sends.
	ErrBadPayload = errors.New("sysparams/pgstore: malformed notification payload")
)

// ConflictError reports an update refused because another writer saved
// the parameter set after this update read it (optimistic concurrency on
// the revision column). Nothing was stored; reload and apply the change
// again. It wraps sysparams.ErrConflict.
type ConflictError struct {
	// Name is the parameter set.
	Name string
	// Base is the revision the update was based on.
	Base int64
	// Current is the stored revision when the update was refused (-1 if
	// it could not be read).
	Current int64
}

// Error says which revisions collided.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("sysparams/pgstore: parameter set %q was changed by another writer (update based on revision %d, stored revision is %d): reload and retry",
		e.Name, e.Base, e.Current)
}

// Unwrap returns sysparams.ErrConflict.
func (e *ConflictError) Unwrap() error { return sysparams.ErrConflict }
