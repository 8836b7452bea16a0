// Package smtpsend is the SMTP sender of package mailqueue: it submits
// finished messages to one mail server (an on-premises Exchange or Domino,
// a relay such as Postfix, or smtp.office365.com with OAuth) over the
// emersion/go-smtp client.
//
// # Protocols
//
//   - SMTP (RFC 5321) with EHLO, SIZE (RFC 1870), 8BITMIME and SMTPUTF8
//     (RFC 6531) when the server offers them.
//   - STARTTLS (RFC 3207) and implicit TLS (RFC 8314). Security "auto"
//     uses implicit TLS on port 465, otherwise STARTTLS when offered, and
//     continues in clear only when no credentials are configured and
//     RequireTLS is off; it never retries with a lower protocol. TLS 1.2
//     is the default minimum; TLS 1.0/1.1 are a legacy opt-in (MinTLS).
//     Go has no SSL 3.0 (removed in Go 1.14), so the seed's "SSL 3.0"
//     choice cannot be offered. Certificates are always verified unless a
//     caller-supplied TLSConfig turns that off.
//   - AUTH (RFC 4954) with PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195)
//     and XOAUTH2 (bearer tokens for Office 365 and Gmail; initial
//     response on the AUTH line, the 334 error challenge answered with an
//     empty line, one retry with a refreshed token after 535). AUTH is
//     only ever sent over TLS and only on the capabilities of the EHLO
//     that followed TLS (RFC 3207 §4.2: pre-TLS knowledge is discarded).
//
// # Guarantees
//
// Every stage — dial, greeting, TLS handshake, each command, the body
// upload and the reply to the final dot — is bounded by its timeout
// (Config.Timeouts) and by the ctx of the call: cancelling ctx unblocks the
// connection at once, so a server that accepts TCP and never greets fails
// at the greeting timeout and no goroutine is left behind. Connections are
// kept and reused for consecutive messages: NOOP before reusing one, RSET
// after an aborted transaction, and a transparent reconnect when a kept
// connection was dropped while idle (a 421, a reset); that is not a
// failure. CloseIdle (mailqueue.IdleCloser, called by the queue after
// Config.IdleClose without work) sends QUIT on the kept connections and
// leaves the Sender usable; Close does the same and ends it. A Dialer (for example a proxy) may hand over a connection whose
// first bytes it has already buffered; they are read as the greeting.
// Credentials never appear in logs, errors, the Report or the protocol
// trace (the AUTH exchange is replaced by a note); Config prints them
// redacted with every fmt verb.
//
// A hostile or broken server cannot hold the sender: reply lines are
// limited to 2000 octets and replies to 200 lines, a continuation line
// with another code or without "-"/" " after the code fails the read at
// once (instead of waiting for a reply end that never comes), and an AUTH
// exchange ends after 4 server challenges and one command timeout.
//
// # Failure semantics
//
// Every failure is a *mailqueue.DeliveryError naming the step and carrying
// the SMTP code and RFC 3463 enhanced code:
//
//	DNS, connect, TLS handshake, no/4xx/5xx greeting, 421 anywhere   ClassTransport
//	535, 534, 530, 538, 5.7.139, 5.7.30, 5.7.57, SendAsDenied/5.7.60,
//	  421 4.7.66 (TLS too old), STARTTLS required but not offered,
//	  credentials configured but no (usable) AUTH offered              ClassConfig
//	4xx on MAIL, RCPT, DATA or the final dot; 454 on AUTH;
//	  connection lost while uploading the body                        ClassTemporary
//	5xx on MAIL, RCPT, DATA or the final dot; larger than SIZE        ClassPermanent
//	connection lost or timed out waiting for the reply to the dot     ClassAmbiguous
//
// One refused recipient aborts the whole message (RSET before the next):
// the queue keeps per-message, not per-recipient, state, which suits the
// single-recipient notifications of a UC application.
//
// # What it does not do
//
// It does not compose, sign or queue messages (see package mailqueue), look
// up MX records (it talks to one configured server), pipeline commands,
// or implement SCRAM, NTLM or GSSAPI.
package smtpsend
