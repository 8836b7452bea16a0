package mailqueue

import (
	"fmt"
	"strings"

	"github.com/ucxkit/ucxkit/internal/fielderr"
)

// FieldError is one validation problem of one configuration or envelope
// field; inspect it with errors.As.
type FieldError = fielderr.Error

// maxPathLen is the RFC 5321 §4.5.3.1.3 limit of a reverse or forward path
// (256 octets including the angle brackets).
const maxPathLen = 254

// ValidateEnvelope reports every problem of env: at least one recipient,
// no empty recipient, no control characters or angle brackets (they would
// let a caller inject SMTP commands or spool header lines), and no path over
// the RFC 5321 length limit. The errors name the field ("envelope.to[1]")
// and wrap ErrInvalidEnvelope.
func ValidateEnvelope(env Envelope) error {
	var l fielderr.List
	if p := addrProblem(env.From); p != "" && env.From != "" {
		l.Add("envelope.from", "%s", p)
	}
	if len(env.To) == 0 {
		l.Add("envelope.to", "must list at least one recipient")
	}
	for i, to := range env.To {
		if to == "" {
			l.Add(fmt.Sprintf("envelope.to[%d]", i), "must not be empty")
			continue
		}
		if p := addrProblem(to); p != "" {
			l.Add(fmt.Sprintf("envelope.to[%d]", i), "%s", p)
		}
	}
	if err := l.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidEnvelope, err)
	}
	return nil
}

func addrProblem(a string) string {
	if len(a) > maxPathLen {
		return fmt.Sprintf("must be at most %d octets, got %d", maxPathLen, len(a))
	}
	for _, r := range a {
		if r < 0x20 || r == 0x7f {
			return fmt.Sprintf("must not contain control characters, got %q", a)
		}
	}
	if strings.ContainsAny(a, "<>") {
		return fmt.Sprintf("must be a bare address without angle brackets, got %q", a)
	}
	if strings.TrimSpace(a) != a {
		return fmt.Sprintf("must not have leading or trailing spaces, got %q", a)
	}
	return ""
}
