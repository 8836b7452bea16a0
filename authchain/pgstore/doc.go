// Package pgstore is the PostgreSQL authchain.Store: browser sessions
// shared by every node of a cluster, so a user who logged in through node
// A stays logged in when the load balancer sends the next request to node
// B, and a logout or a DeleteUser on any node ends the session everywhere.
//
// # Storage
//
// Sessions are rows of ucxkit_sessions in the pool's current schema (the
// first existing schema of search_path), keyed by the 32-byte SHA-256 of
// the cookie token: authchain.Manager only ever hands a Store the hash
// (Session.ID, hex), and this store refuses any ID that is not such a hash
// (ErrInvalidID), so neither a raw token nor anything that could be one
// reaches the database. A copy of the table lets no one impersonate a
// user. The earlier of the idle and absolute expiry is a generated,
// indexed column (expires_at); login is indexed for DeleteUser.
//
// The package creates and migrates its table itself; the applied version
// is kept in ucxkit_schema_version, and concurrent Opens serialise on an
// advisory lock, so migration is idempotent and safe when nodes start
// together.
//
// # Cleanup
//
// Every Store deletes expired sessions every CleanupInterval (10 minutes)
// in the background until Close; several nodes cleaning at once only
// repeat an idempotent DELETE. The Manager also refuses and deletes an
// expired session when it sees one, so cleanup is about table size, not
// security.
//
// # Failure semantics
//
// The methods follow the authchain.Store contract:
// authchain.ErrSessionExists from Create for a duplicate ID,
// authchain.ErrSessionNotFound from Get, Touch and Delete for an unknown
// (or malformed) ID; database errors are wrapped with the operation name.
// Times are stored with microsecond precision (PostgreSQL's), in UTC.
//
// # What it does not do
//
// It does not cache sessions (each Lookup is one indexed read), does not
// encrypt the login and roles columns, and does not limit sessions per
// user.
package pgstore
