package pgstore

import "errors"

// Sentinel errors of the PostgreSQL store. Compare with errors.Is. The
// store also returns mailqueue.ErrNotFound for an unknown message ID,
// mailqueue.ErrStoreClosed after Close and mailqueue.ErrInvalidEnvelope
// for a bad envelope, so callers need not care which Store they hold.
var (
	// ErrLeaseLost is returned by Release and Fail when the message is no
	// longer leased under this store's claim: the lease expired and
	// another node claimed the message (or a dead letter was moved). The
	// outcome is not recorded; the other node's attempt decides.
	ErrLeaseLost = errors.New("mailqueue/pgstore: lease lost to another runner")
	// ErrSchemaTooNew is returned by Open when the database schema was
	// migrated by a newer build than this one.
	ErrSchemaTooNew = errors.New("mailqueue/pgstore: database schema is newer than this build")
	// ErrNotDeadLetter is returned by Retry for a message that is not in
	// the dead letters.
	ErrNotDeadLetter = errors.New("mailqueue/pgstore: message is not a dead letter")
)
