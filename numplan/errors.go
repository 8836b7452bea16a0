package numplan

import (
	"errors"
	"fmt"

	"github.com/ucxkit/ucxkit/internal/fielderr"
)

// FieldError is one validation problem of one configuration field, as
// returned (joined) by Config.Validate. Field is the JSON path of the field
// ("international_prefix", "internal_patterns[2]").
type FieldError = fielderr.Error

// Sentinel errors. Inspect errors with errors.Is; the typed errors below
// wrap them.
var (
	// ErrInvalidConfig is wrapped by the error Compile returns when the
	// configuration does not validate.
	ErrInvalidConfig = errors.New("numplan: invalid configuration")
	// ErrInvalidPattern is wrapped by every *PatternError.
	ErrInvalidPattern = errors.New("numplan: invalid pattern")
	// ErrTooComplex is returned when the internal patterns need a larger
	// automaton than MaxStates (or one pattern more than MaxPatternStates).
	ErrTooComplex = errors.New("numplan: patterns too complex")
	// ErrInvalidNumber is wrapped by every *NumberError: the input holds a
	// character that is not part of a phone number, or is too long.
	ErrInvalidNumber = errors.New("numplan: invalid number")
	// ErrNothingToDial is the Result.Err of Out for an empty or anonymous
	// number.
	ErrNothingToDial = errors.New("numplan: nothing to dial")
)

// PatternError reports a pattern that does not compile. Index is the
// position of the pattern in internal_patterns (-1 when checked alone) and
// Offset the byte offset of the problem in the pattern (-1 when unknown, as
// for some RE2 errors).
type PatternError struct {
	Index   int
	Offset  int
	Pattern string
	Problem string
}

// Error returns "numplan: internal_patterns[i]: at byte n: problem (pattern "p")".
func (e *PatternError) Error() string {
	field := "pattern"
	if e.Index >= 0 {
		field = fmt.Sprintf("internal_patterns[%d]", e.Index)
	}
	return "numplan: " + field + ": " + e.problemText()
}

func (e *PatternError) problemText() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("at byte %d: %s (pattern %q)", e.Offset, e.Problem, e.Pattern)
	}
	return fmt.Sprintf("%s (pattern %q)", e.Problem, e.Pattern)
}

// Unwrap returns ErrInvalidPattern.
func (e *PatternError) Unwrap() error { return ErrInvalidPattern }

// NumberError reports an input number that cannot be sanitized. Offset is
// the byte offset of the offending character in the input (-1 when the
// problem is the whole input, such as its length).
type NumberError struct {
	Input   string
	Offset  int
	Problem string
}

// Error returns "numplan: number "x": at byte n: problem".
func (e *NumberError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("numplan: number %q: at byte %d: %s", e.Input, e.Offset, e.Problem)
	}
	return fmt.Sprintf("numplan: number %q: %s", e.Input, e.Problem)
}

// Unwrap returns ErrInvalidNumber.
func (e *NumberError) Unwrap() error { return ErrInvalidNumber }
