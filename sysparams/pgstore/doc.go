// Package pgstore is the PostgreSQL sysparams.Store: one parameter set
// shared by every node of a cluster, so proxy settings, cloud credentials
// and the web server URL are entered once instead of on each node (the
// seed's "not replicated between nodes" limitation).
//
// # Storage
//
// The set is one row of the table ucxkit_sysparams in the pool's current
// schema (the first existing schema of search_path): its name, a revision
// counter, the sysparams.Document the file store writes (parameters as
// JSON with every secret redacted, each secret sealed with AES-256-GCM
// under its field path), the save time and the saving node. The sealing
// keys never reach the database: the host supplies the same
// sysparams.Keyring to every node (Options.Keyring). The package creates
// and migrates its table itself; the applied version is kept in
// ucxkit_schema_version, and concurrent Opens serialise on an advisory
// lock, so migration is idempotent and safe when nodes start together.
//
// # Guarantees
//
//   - Optimistic concurrency: Update reads the row, applies the function,
//     validates and saves with UPDATE ... WHERE revision = <read>. If
//     another node saved in between, nothing is stored and Update returns
//     a *ConflictError wrapping sysparams.ErrConflict: a concurrent change
//     is rejected, never lost and never silently merged. UpdateRevision
//     does the same for an edit based on an earlier read (an admin form).
//   - Change notification: every save sends NOTIFY ucxkit_sysparams (with
//     schema, set name and revision) in the same transaction, so it is
//     sent exactly when the save commits. Each Store LISTENs on a
//     dedicated connection and calls its subscribers with the
//     sysparams.Change, in revision order, one call at a time, within a
//     round trip of the save. The writer's own subscribers are called
//     before Update returns.
//   - Catch-up: after a lost listening connection the Store reconnects
//     and re-reads the set, and it re-reads every PollInterval (30 s) in
//     any case; revisions it missed arrive merged in one Change.
//
// # Failure semantics
//
// A function error, a *sysparams.ValidationError, a conflict or a database
// error stores nothing and notifies no one. A stored set this node cannot
// read (no Keyring: sysparams.ErrKeyMissing; another key:
// sysparams.ErrKeyUnknown; tampered: sysparams.ErrDecrypt; a newer
// document schema: sysparams.ErrForeign) is reported by Open, Load and
// Update and never overwritten. Open refuses a database migrated by a
// newer build (ErrSchemaTooNew).
//
// # What it does not do
//
// It does not distribute or rotate the keys (Reseal re-seals the set after
// the host rotated them on every node), does not retry a conflicting
// update on its own (the caller decides whether its change still applies),
// and does not keep a history of revisions.
package pgstore
