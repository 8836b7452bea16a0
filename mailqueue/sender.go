package mailqueue

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Envelope is the SMTP envelope of one message: the reverse path and the
// forward paths (RFC 5321 §3.3). It is independent of the From/To/Cc header
// fields of the message itself; Bcc recipients appear only here.
type Envelope struct {
	// From is the reverse path (MAIL FROM). Empty means the null reverse
	// path "<>", used for bounces.
	From string `json:"from"`
	// To lists the forward paths (RCPT TO). At least one is required.
	To []string `json:"to"`
}

// Sender delivers one finished message (RFC 5322 bytes, CRLF line endings)
// to its envelope recipients. Implementations: the SMTP sender and the
// Office 365 senders (Graph, SMTP XOAUTH2, EWS).
//
// Send must honour ctx (cancellation and deadline) at every network step and
// must classify every failure by returning a *DeliveryError (or an error
// wrapping one); an unclassified error is treated as ClassTemporary.
//
// A Sender may keep a connection open between calls; the runner calls Send
// from one goroutine at a time per Sender unless the Sender's documentation
// says it is safe for concurrent use. Senders that hold connections also
// implement io.Closer.
type Sender interface {
	Send(ctx context.Context, env Envelope, msg []byte) error
}

// IdleCloser is an optional Sender capability, like
// http.Transport.CloseIdleConnections: CloseIdle closes the connections the
// Sender keeps for reuse while leaving it usable (the next Send dials
// again). The Queue calls it after Config.IdleClose without work; it calls
// the terminal io.Closer Close only when the Sender is replaced or the
// queue is closed.
type IdleCloser interface {
	CloseIdle() error
}

// SenderFunc adapts a function to the Sender interface.
type SenderFunc func(ctx context.Context, env Envelope, msg []byte) error

// Send calls f(ctx, env, msg).
func (f SenderFunc) Send(ctx context.Context, env Envelope, msg []byte) error {
	return f(ctx, env, msg)
}

// Class is the failure class of a delivery attempt. The queue decides what to
// do with a message from its class alone, never from error strings.
type Class int

const (
	// ClassTemporary is a per-message temporary failure (4xx on MAIL, RCPT or
	// DATA, throttling): the message is retried with exponential backoff and
	// the others keep their order. Unknown errors count as temporary.
	ClassTemporary Class = iota
	// ClassTransport means the service cannot be reached (DNS, connect, TLS,
	// no greeting, 421, token endpoint down): every message is kept, the
	// connection is probed again later and messages do not age their backoff.
	ClassTransport
	// ClassConfig means the configuration is wrong (authentication refused,
	// STARTTLS required but absent, permission missing): sending pauses, all
	// messages are kept and an alarm is raised with a hint.
	ClassConfig
	// ClassPermanent is a per-message permanent failure (5xx, too large): the
	// message is moved to the dead-letter store with the reason.
	ClassPermanent
	// ClassAmbiguous means the outcome is unknown (connection lost after the
	// message was handed over): the message is retried and flagged as a
	// possible duplicate.
	ClassAmbiguous
)

var classNames = [...]string{"temporary", "transport", "config", "permanent", "ambiguous"}

// String returns the lower-case name of the class as used in metadata files.
func (c Class) String() string {
	if c >= 0 && int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// MarshalText encodes the class by name.
func (c Class) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText decodes a class name written by MarshalText.
func (c *Class) UnmarshalText(b []byte) error {
	for i, n := range classNames {
		if n == string(b) {
			*c = Class(i)
			return nil
		}
	}
	return fmt.Errorf("mailqueue: unknown failure class %q", b)
}

// DeliveryError is the typed error a Sender returns for a failed attempt. It
// carries the protocol facts that decided its class.
type DeliveryError struct {
	// Class decides what the queue does with the message.
	Class Class
	// Step names the protocol step that failed ("dial", "tls", "greeting",
	// "ehlo", "auth", "mail", "rcpt", "data", "token", "graph", "ews", ...).
	Step string
	// Code is the SMTP reply code or HTTP status, 0 when there is none.
	Code int
	// Enhanced is the RFC 3463 enhanced status code ("5.7.139"), if any.
	Enhanced string
	// Hint is advice for the administrator, shown with alarms. It never
	// contains secrets.
	Hint string
	// RetryAfter is the delay the server asked for (Retry-After,
	// BackOffMilliseconds), 0 when it did not ask.
	RetryAfter time.Duration
	// Err is the underlying cause.
	Err error
}

// Error describes the failure, its step and class; it never includes
// credentials or message content.
func (e *DeliveryError) Error() string {
	msg := "mailqueue: " + e.Class.String() + " failure"
	if e.Step != "" {
		msg += " at " + e.Step
	}
	if e.Code != 0 {
		msg += fmt.Sprintf(" (%d", e.Code)
		if e.Enhanced != "" {
			msg += " " + e.Enhanced
		}
		msg += ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Hint != "" {
		msg += " (hint: " + e.Hint + ")"
	}
	return msg
}

// Unwrap returns the underlying cause.
func (e *DeliveryError) Unwrap() error { return e.Err }

// Temporary reports whether a later attempt may succeed without a change of
// configuration or message.
func (e *DeliveryError) Temporary() bool {
	return e.Class == ClassTemporary || e.Class == ClassTransport || e.Class == ClassAmbiguous
}

// ClassOf returns the failure class of err: the class of the first
// *DeliveryError in its chain, ClassTemporary for any other non-nil error.
func ClassOf(err error) Class {
	var de *DeliveryError
	if errors.As(err, &de) {
		return de.Class
	}
	return ClassTemporary
}
