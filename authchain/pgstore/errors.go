package pgstore

import "errors"

// Sentinel errors of the PostgreSQL session store. Compare with errors.Is.
// The store also returns authchain.ErrSessionNotFound and
// authchain.ErrSessionExists as the authchain.Store contract says.
var (
	// ErrSchemaTooNew is returned by Open when the database schema was
	// migrated by a newer build than this one.
	ErrSchemaTooNew = errors.New("authchain/pgstore: database schema is newer than this build")
	// ErrInvalidID is returned by Create for an ID that is not a session
	// hash (64 lower-case hex digits, as authchain.HashToken makes): the
	// store refuses anything that could be a raw token.
	ErrInvalidID = errors.New("authchain/pgstore: session id is not a SHA-256 hex hash")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("authchain/pgstore: store closed")
)
