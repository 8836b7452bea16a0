// Package mailqueue is a durable outgoing-mail queue for unified
// communications servers: voicemail forwards, incoming faxes, reports and
// alarms must reach people even when the mail server is down, misconfigured
// or the process is killed.
//
// # Parts
//
//   - Message and its Build method compose RFC 5322 / MIME (RFC 2045-2049)
//     messages with RFC 2047 encoded-words and RFC 2231 file names;
//     DKIMSigner signs them (RFC 6376) in Enqueue (Config.Signer), so retries
//     send identical bytes.
//   - Spool is the embedded Store: one folder an operator can read (below).
//   - Queue delivers the Store's messages through a Sender: FIFO, one at a
//     time by default (the seed: "sent one by one in sequence"), optional
//     concurrency.
//   - Senders live in sub-packages: mailqueue/smtpsend (SMTP, RFC 5321,
//     3207, 4954, 8314) and mailqueue/o365 (Microsoft Graph, SMTP XOAUTH2,
//     EWS). mailqueue/pgstore is a PostgreSQL Store for clusters.
//   - A pickup folder takes complete .eml files dropped by other programs
//     (ParsePickup): the envelope comes from X-Sender / X-Receiver, else
//     From and To/Cc/Bcc; Bcc is removed before sending.
//
// # The spool folder
//
//	tmp/      files being written; those older than SpoolOptions.TmpMaxAge (10 min)
//	          are removed when the delivering process opens the spool
//	journal/  new messages, committed in groups: <segment>.log holds messages back
//	          to back, each as a spool file (below), then zeros (preallocated);
//	          <segment>.done lists those finished. A segment is removed when
//	          its last message is finished, once it is full or its spool was
//	          closed
//	queue/    <id>.eml: one line "X-Ucxkit-Spool: {JSON envelope, size, CRC-32C}"
//	          followed by the message; <id>.json: metadata once an attempt failed
//	          (attempts, next_attempt, last_error, last_class, possible_duplicate).
//	          Messages from the journal get their own (flushed) file here once an
//	          attempt failed
//	active/   <id>.eml of messages with their own file being delivered (moved
//	          back at open); a message from the journal is leased in memory
//	failed/   dead letters: <id>.eml and <id>.json with "reason"
//	corrupt/  quarantined unreadable files, each with a <name>.reason
//	pickup/   drop complete .eml files here (write elsewhere, rename in)
//
// IDs sort by enqueue time. Files are mode 0600, folders 0700.
//
// # Guarantees
//
// When Enqueue (Spool.Put) returns nil, the message was flushed to disk
// (fdatasync) in a journal segment whose space was allocated, written,
// fsynced and entered in the fsynced journal/ folder before: the message
// survives a crash of the process and of the machine (given a disk that
// honours flushes). Concurrent Enqueue calls share one append and one
// flush (group commit: the first waiting producer writes the whole group),
// so many producers do not queue up behind a flush each, and none pays a
// file creation. A shared Spool and a message of 1 MiB or more get a file
// of their own: written to tmp/, fsynced, renamed into queue/, queue/
// fsynced. The journal stays the durable copy of a message until it is
// delivered or has its own flushed file (after a failed attempt, or as a
// dead letter), so a delivery attempt reads it from the journal and creates
// no file. Such a message is then delivered at
// least once, or moved to failed/ with a readable reason, within
// Config.MaxLifetime (plus at most one backoff interval). Exactly-once is
// impossible (RFC 1047): a message is sent twice only when the process dies
// or the connection is lost after the server accepted it and before the
// spool recorded that, or when the store fails to remove a delivered
// message; the message keeps its Message-ID, so duplicates are
// recognisable, and an attempt lost after the final dot is flagged
// possible_duplicate.
//
// Config.OnDelivered runs once per attempt the server accepted, with the
// Meta as after that attempt (State "delivered", Attempts counting it),
// after the message was removed from the store. If that removal failed it
// is still called, because the recipient has the message, with
// Meta.AckError saying why: the message stays leased in the store and is
// sent (and reported) again when the lease expires or the spool reopens. Every message file carries its length and CRC-32C;
// a torn or altered file is quarantined, never sent. An fsync failure makes
// the spool refuse further writes (ErrSyncFailed) rather than trust a
// retried fsync. TestCrashTorture kills a producer and runner hundreds of
// times at random points and checks these promises.
//
// # Failure semantics
//
// The queue decides what to do from ClassOf(err) alone, never from error
// strings; Senders classify their failures with *DeliveryError:
//
//	class       examples                                    queue action
//	transport   DNS, connect, TLS, no greeting, 421,         keep every message at its place, do not
//	            proxy or token endpoint unreachable          count the attempt; probe every ProbeInterval
//	                                                         (30 s, the seed); alarm after AlarmAfter
//	config      535, 530, 538, 5.7.139, 5.7.30,              pause, keep every message, alarm with the
//	            SendAsDenied, STARTTLS required but absent,  Sender's hint; resume on SetSender or after
//	            credentials set but no AUTH offered          ConfigRetry (10 min)
//	temporary   4xx on MAIL, RCPT or DATA, throttling         retry that message after Backoff (30 s x 2^n,
//	            (and any unclassified error)                 max 1 h, +-10 % jitter, Retry-After honoured);
//	                                                         the others keep their order
//	permanent   5xx, message too large                       move to failed/ with the reason; OnFailed
//	ambiguous   connection lost after the final dot           retry like temporary, flag possible_duplicate
//	expired     older than MaxLifetime (5 days)               move to failed/ as expired; OnFailed, alarm
//
// Connection reuse is the Sender's job (smtpsend keeps connections, RSET
// between messages, reconnects transparently when a kept connection was
// dropped); the queue calls CloseIdle (IdleCloser) after IdleClose without
// work. If outgoing mail was never configured (no Sender), Enqueue returns
// ErrNotConfigured and nothing is generated.
//
// # What it does not do
//
// It relays through the installation's own smart host or Office 365; it
// does no MX lookup. State is per message, not per recipient: a message
// with several recipients is retried or failed as a whole. It generates no
// delivery status notifications (bounces); OnFailed and failed/ are the
// dead-letter channel. On Windows a folder cannot be fsynced, so the rename
// into queue/ relies on NTFS journaling, and there is no flock: run one
// delivering process per spool.
package mailqueue
