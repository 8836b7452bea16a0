package mailqueue

import (
	"context"
	"encoding/json"
	"time"
)

// State is where a message is in its life.
type State string

// Message states. Store.List and the status CLI show the first three;
// StateDelivered appears only in the Meta that Config.OnDelivered
// receives, because stores remove delivered messages.
const (
	StateQueued    State = "queued"    // waiting for its next attempt
	StateLeased    State = "leased"    // claimed by a runner, attempt in progress
	StateFailed    State = "failed"    // dead letter, with a reason
	StateDelivered State = "delivered" // accepted by the server
)

// Meta is the human-readable metadata of one message. Stores persist it as
// JSON (the spool) or columns (PostgreSQL).
type Meta struct {
	ID       string   `json:"id"`
	Envelope Envelope `json:"envelope"`
	State    State    `json:"state"`
	// EnqueuedAt is when Put returned; the queue keeps FIFO order by it.
	EnqueuedAt time.Time `json:"enqueued_at"`
	// NextAttempt is when the message is due again.
	NextAttempt time.Time `json:"next_attempt"`
	// Attempts counts delivery attempts made so far.
	Attempts int `json:"attempts"`
	// LastError is the message of the last failed attempt, free of secrets.
	LastError string `json:"last_error,omitempty"`
	// LastClass is the class of the last failed attempt; its JSON form
	// appears whenever LastError is set.
	LastClass Class `json:"last_class,omitempty"`
	// PossibleDuplicate is set after an ambiguous attempt: the recipient may
	// already have the message.
	PossibleDuplicate bool `json:"possible_duplicate,omitempty"`
	// Size is the length of the message in bytes.
	Size int64 `json:"size"`
	// Lease identifies the runner holding the message while leased
	// (node id for the cluster store) and when the lease expires.
	LeaseOwner   string    `json:"lease_owner,omitempty"`
	LeaseExpires time.Time `json:"lease_expires,omitzero"`
	// Reason explains why a failed message was given up.
	Reason string `json:"reason,omitempty"`
	// AckError is set only in the Meta that Config.OnDelivered receives,
	// when the server accepted the message but the store could not remove
	// it (Store.Ack failed): the message is still in the store, leased, and
	// will be sent again when its lease expires or the store is reopened,
	// so the recipient gets a duplicate with the same Message-ID. Stores
	// never persist it.
	AckError string `json:"ack_error,omitempty"`
}

// MarshalJSON writes the fields with their JSON names; last_class is
// written whenever last_error is, even for ClassTemporary (the zero Class),
// so an operator reading the file sees why the message waits.
func (m Meta) MarshalJSON() ([]byte, error) {
	type plain Meta
	var cls *Class
	if m.LastError != "" {
		c := m.LastClass
		cls = &c
	}
	return json.Marshal(struct {
		plain
		LastClass *Class `json:"last_class,omitempty"`
	}{plain(m), cls})
}

// Item is a message claimed by a runner: its metadata and its bytes.
type Item struct {
	Meta Meta
	Data []byte
}

// Outcome is what a runner reports back to the store after an attempt that
// did not deliver the message.
type Outcome struct {
	// NextAttempt is when the message becomes due again.
	NextAttempt time.Time
	// Err describes the failure (stored as LastError/LastClass).
	Err error
	// CountAttempt is false when the attempt must not age the message
	// (transport down, configuration pause).
	CountAttempt bool
	// PossibleDuplicate marks an ambiguous attempt.
	PossibleDuplicate bool
}

// Failure is why a message becomes a dead letter (Store.Fail).
type Failure struct {
	// Reason is the readable explanation kept with the dead letter.
	Reason string
	// Err is the error of the attempt that ended the message, if any
	// (stored as LastError/LastClass).
	Err error
	// CountAttempt is true when the message failed a delivery attempt
	// (not when it expired in the queue).
	CountAttempt bool
}

// Store is the durable storage behind a Queue. The file spool is the
// embedded default; mailqueue/pgstore provides a PostgreSQL store shared by
// cluster nodes. Implementations are safe for concurrent use.
//
// Every method takes a context and honours its cancellation and deadline.
type Store interface {
	// Put stores a new message durably: when it returns nil, the message
	// survives a crash of the process and of the machine.
	Put(ctx context.Context, env Envelope, data []byte, now time.Time) (Meta, error)
	// Claim leases up to max messages due at now, oldest EnqueuedAt first,
	// for the given owner until now+lease. A message leased by an owner that
	// did not report back becomes claimable again when the lease expires.
	Claim(ctx context.Context, owner string, now time.Time, lease time.Duration, max int) ([]Item, error)
	// Ack removes a delivered message.
	Ack(ctx context.Context, id string) error
	// Release returns a leased message to the queue after a failed attempt.
	Release(ctx context.Context, id string, o Outcome) error
	// Fail moves a leased message to the dead letters with a readable
	// reason (and, after a delivery attempt, that attempt counted and its
	// error as LastError/LastClass).
	Fail(ctx context.Context, id string, f Failure) error
	// List returns the metadata of every message, dead letters included,
	// oldest first.
	List(ctx context.Context) ([]Meta, error)
	// Close releases the store's resources. It is idempotent.
	Close() error
}
