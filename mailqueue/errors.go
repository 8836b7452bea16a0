package mailqueue

import "errors"

// Sentinel errors of the queue and the spool. Compare with errors.Is.
var (
	// ErrNotConfigured is returned by Queue.Enqueue when outgoing mail was
	// never configured (the Queue has no Sender): nothing is generated or
	// spooled, as the seed's "Email queuing" section requires.
	ErrNotConfigured = errors.New("mailqueue: outgoing mail is not configured")
	// ErrQueueClosed is returned by calls on a Queue after Close or Shutdown.
	ErrQueueClosed = errors.New("mailqueue: queue closed")
	// ErrRunning is returned by a second concurrent call of Queue.Run.
	ErrRunning = errors.New("mailqueue: queue is already running")
	// ErrStoreClosed is returned by calls on a closed Spool.
	ErrStoreClosed = errors.New("mailqueue: store closed")
	// ErrSpoolLocked is returned by the delivery-side methods (Claim, Ack,
	// Release, Fail) of a Spool opened while another process holds the
	// spool's lock: such a Spool can only Put and List.
	ErrSpoolLocked = errors.New("mailqueue: spool is locked by another process")
	// ErrNotFound is returned for an unknown message ID.
	ErrNotFound = errors.New("mailqueue: message not found")
	// ErrInvalidEnvelope is wrapped by every envelope validation error.
	ErrInvalidEnvelope = errors.New("mailqueue: invalid envelope")
	// ErrCorrupt is wrapped by errors about unreadable spool files; such
	// files are moved to the spool's corrupt/ folder, never deleted.
	ErrCorrupt = errors.New("mailqueue: corrupt spool file")
	// ErrSyncFailed means an fsync failed: the spool refuses further writes,
	// because data written before the failure may be lost (the kernel may
	// have dropped the dirty pages) and a retried fsync would lie.
	ErrSyncFailed = errors.New("mailqueue: fsync failed, spool is read-only")
)
