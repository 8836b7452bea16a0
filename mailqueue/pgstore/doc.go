// Package pgstore is the PostgreSQL mailqueue.Store: one mail queue shared
// by every node of a cluster, so a message enqueued on any node is
// delivered by whichever node has a runner free, and the messages of a
// node that dies are delivered by the others.
//
// # Storage
//
// Each message is one row of ucxkit_mail_queue in the pool's current
// schema (the first existing schema of search_path): envelope, bytes,
// state (queued, leased, failed), enqueue time, next attempt, attempts,
// last error and class, possible-duplicate flag, lease owner, expiry and
// token, and the dead-letter reason. The package creates and migrates its
// table itself; the applied version is kept in ucxkit_schema_version, and
// concurrent Opens serialise on an advisory lock, so migration is
// idempotent and safe when nodes start together.
//
// # Guarantees
//
//   - Put is a committed INSERT: when it returns nil the message is
//     durable (with PostgreSQL's default synchronous_commit).
//   - Claim selects due rows oldest first (enqueue time, then ID) with
//     FOR UPDATE SKIP LOCKED and leases them in the same statement to the
//     runner's owner name (the node) until an expiry: runners on any node
//     never hold the same message at the same time, and never wait for
//     each other. Each node's runner sees the messages in FIFO order.
//   - A message whose lease expired is claimable again: a node that dies
//     loses its messages to the others after the lease time. With
//     Options.Lease the store renews the leases it holds every Lease/3,
//     so the lease can be short (fast fail-over) while long attempts of a
//     live node keep their message.
//   - Release and Fail are fenced by a token written at Claim: a runner
//     that lost its lease cannot overwrite the state set by the node that
//     took over (ErrLeaseLost). Ack deletes the row whatever the lease: the
//     message was delivered.
//   - Dead letters stay in the table (state failed, with the reason) and
//     are never claimed; List, ListState, Get and Counts query them and
//     every other state, Retry puts a dead letter back in the queue.
//
// # Failure semantics
//
// The duplicate window is the one every queue has: between the server's
// acceptance of the message and the committed DELETE of Ack. A runner that
// dies inside it (SIGKILL, power cut) leaves the message leased; after the
// lease another node sends it again. Nothing is ever lost: a message
// leaves the table only through Ack, and a failed statement changes
// nothing (each operation is one statement or one transaction). Errors
// wrap mailqueue.ErrNotFound, mailqueue.ErrStoreClosed,
// mailqueue.ErrInvalidEnvelope or this package's sentinels. Lease times
// are compared with the claiming node's clock, so nodes must keep their
// clocks synchronised (NTP); a skew of s shortens or lengthens leases by s.
//
// # What it does not do
//
// It does not wake idle runners on other nodes when a message is enqueued
// (they poll: mailqueue.Config.PollInterval, one second by default, and
// NextDue), does not compress or deduplicate message bytes, and does not
// purge dead letters on its own.
package pgstore
