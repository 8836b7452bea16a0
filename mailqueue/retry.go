package mailqueue

import (
	"errors"
	"math"
	"math/rand/v2"
	"time"
)

// BackoffFunc returns how long a message waits before its next attempt
// after a per-message temporary or ambiguous failure. attempts counts the
// attempts made so far (1 after the first failure); err is the failure.
// It must be safe for concurrent use.
type BackoffFunc func(attempts int, err error) time.Duration

// Default retry parameters. RFC 5321 §4.5.4.1 asks for at least 30 minutes
// between retries to a remote MX; the queue talks to the installation's own
// smart host, so it starts faster and reaches that spacing after a few
// attempts. Every parameter is replaceable (Config.Backoff), as the RFC
// requires.
const (
	// DefaultBackoffBase is the delay after the first failure.
	DefaultBackoffBase = 30 * time.Second
	// DefaultBackoffMax caps the delay.
	DefaultBackoffMax = time.Hour
	// defaultJitter is the ± fraction applied to each delay so that a
	// queue full of deferred messages does not come due in one burst (the
	// weakness Postfix's documentation admits).
	defaultJitter = 0.10
)

// DefaultBackoff is the default BackoffFunc: 30 s × 2^(attempts-1), capped
// at one hour, ±10 % jitter, computed in float seconds so the sequence is
// really exponential (maddy's integer truncation is the counter-example).
// A server's own request (DeliveryError.RetryAfter: Retry-After,
// BackOffMilliseconds) wins when it is longer.
func DefaultBackoff(attempts int, err error) time.Duration {
	if attempts < 1 {
		attempts = 1
	}
	secs := DefaultBackoffBase.Seconds() * math.Pow(2, float64(attempts-1))
	secs = math.Min(secs, DefaultBackoffMax.Seconds())
	secs *= 1 + defaultJitter*(2*rand.Float64()-1)
	d := time.Duration(secs * float64(time.Second))
	var de *DeliveryError
	if errors.As(err, &de) && de.RetryAfter > d {
		d = de.RetryAfter
	}
	return d
}
