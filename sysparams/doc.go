// Package sysparams is ucxkit's composition layer: the whole "System
// Parameters" set of a unified-communications server as one typed,
// validated, durable value, and the constructors that turn it into the
// working objects of the other packages.
//
// # What it holds
//
// Params has one section per part of the vendor's admin page: telephony
// (system name, PBX address), email (SMTP or Office 365, with the proxy to
// use), numbering_plan, authentication (order, remember_user,
// inactivity_timeout), proxy (HTTP and SOCKS), certificate, cloud (vendor
// cloud OAuth2 client credentials) and web_server (base URL). Every field
// documents its default; Defaults returns them. Validate reports every
// problem at once, each naming its dotted JSON path
// ("email.port: must be 1-65535, got 70000"), and reuses each package's own
// validation for its section. Addresses are checked as RFC 5322 mailboxes,
// host names as RFC 1123 labels (underscores tolerated, as in Windows
// computer names), URLs per RFC 3986 (https only for the web server and the
// Office 365 overrides).
//
// # Storage
//
// A Store loads, updates and watches one parameter set. The embedded
// default is the FileStore: one JSON file (a Document, schema-versioned)
// replaced atomically (temp file in the same folder, fsync, rename, folder
// fsync), holding the parameters with every secret redacted and, beside
// them, each secret (email.password, email.o365.client_secret,
// cloud.client_secret, proxy passwords) sealed with AES-256-GCM (NIST SP
// 800-38D) under a key kept in a separate 0600 key file created on first
// use. The field path is authenticated with each ciphertext, so a sealed
// value moved to another field does not decrypt. RotateKey re-seals every
// secret with a new key. Other stores (a PostgreSQL store shared by cluster
// nodes) keep the same Document, sealed with a key the host supplies
// (NewKeyring), and compute the same Change with Diff.
//
// # Plain and stored formats
//
// The plain format is the JSON of Params: one object per section, secrets
// in plain text, a missing field taking its default, unknown fields
// refused. It is what an administrator writes by hand; ParseParams reads
// it, reporting every problem at once (unknown sections and fields, values
// of the wrong JSON type, every Validate rule) as a *ValidationError, and
// Import replaces a Store's whole parameter set with it, sealing the
// secrets on the way in (the CLI: "ucxparams -file F import PLAIN.json").
// OpenFile does not read the plain format: it refuses a file without the
// "schema" field (ErrForeign), so a plain file is never mistaken for a
// store whose secrets were lost.
//
// The stored format is a Document:
//
//	{"schema": "ucxkit.sysparams", "schema_version": 1, "revision": 3,
//	 "updated_at": "2026-12-03T14:32:39Z", "key_id": "k...",
//	 "params": {<plain format, every set secret "[REDACTED]">},
//	 "secrets": {"email.password": "v1:<key id>:<base64url(nonce|ciphertext|tag)>"}}
//
// and the key file is {"schema": "ucxkit.sysparams.keys", "primary":
// "<id>", "keys": [{"id", "key", "created"}]}. Params marshals to the plain
// format with secrets redacted, and the redacted placeholder is refused
// when reading one, so "show" output cannot overwrite a real secret.
//
// Secrets use the Secret type, which never prints: fmt verbs, log/slog
// and JSON all show "[REDACTED]". On the fmt paths that call no method at
// all (a configuration in an unexported field of the caller's struct, a bad
// verb such as %s on a pointer to a section, %p) a Secret prints as a
// pointer, never as its value: the value sits behind a unique.Handle. Keyring
// and FileStore, which hold key bytes, print only their key IDs and paths.
//
// # Failure semantics
//
//   - An Update whose function fails, whose result does not validate
//     (*ValidationError) or that cannot be saved leaves the stored file
//     exactly as it was and notifies no one.
//   - A file that is not JSON or not a regular file (ErrCorrupt: a FIFO
//     is refused rather than read forever), another program's JSON or a
//     newer schema (ErrForeign), or a file whose secrets cannot be opened
//     (ErrKeyMissing, ErrDecrypt) is reported by OpenFile, Load and Update
//     and never overwritten.
//   - A key file readable by others is refused (ErrKeyPermissions).
//   - After a crash the file holds the old or the new revision, never a
//     mix; temp files left behind are removed by the next OpenFile.
//
// # Changes
//
// Update validates, saves and then calls every subscriber with a Change:
// the changed sections and field paths and the restart the seed demands
// (telephony: restart each service; proxy: reboot the host). Subscribers
// can rebuild live objects instead (a new mail sender, a new normalizer);
// Watch does that for the sections an object depends on.
//
// # Composition
//
// Params has constructors for the other packages' objects: the numbering
// normalizer, the proxy dialer and HTTP client, the mail sender (SMTP or
// Office 365, through the selected proxy), the session settings and the
// certificate (EnsureCertificate), plus TestEmail for the seed's "Test
// connection" button. The mail sender reports a mail proxy that refuses
// to authenticate (HTTP 407 on CONNECT, a SOCKS5 method or RFC 1929
// refusal) as a *mailqueue.DeliveryError of ClassConfig at step "proxy"
// with a hint naming the proxy fields, for SMTP and Office 365 alike: the
// queue pauses and raises an alarm rather than probing a server it takes
// for unreachable. The seed's Office 365 URL environment variables apply
// only through an explicit call (O365.ApplyEnv); nothing reads the
// environment on its own.
//
// # What it does not do
//
// It does not watch the file for changes made by other processes (call
// FileStore.Reload; updates from several processes on one machine are
// serialized by an advisory lock, and several machines share parameters
// through the PostgreSQL store), does not replicate anything between
// nodes, and does not protect the key file beyond its permissions: whoever
// can read both files can read the secrets.
package sysparams
