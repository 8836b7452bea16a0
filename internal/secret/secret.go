// Package secret provides the one string type ucxkit uses for passwords,
// client secrets and keys. Each public package re-exports it as an alias
// (proxycfg.Secret, mailqueue.Secret, ...), so values move between packages
// without conversion while no package imports another.
//
// A Secret never reveals its value when printed with any fmt verb, logged
// through log/slog, or marshalled to JSON or text; only Reveal returns it.
// The value is held behind a unique.Handle, so even the paths on which fmt
// does not call methods (a Secret inside an unexported field of a caller's
// struct, or a bad verb on a pointer that leads to one) print a pointer, not
// the value. Secrets compare by value with ==.
// JSON and text unmarshalling accept the plain value so that configuration
// files can carry it; stores that persist secrets encrypt them explicitly.
package secret

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"unique"
)

// Redacted is what every printed or marshalled form of a non-empty Secret
// shows instead of the value.
const Redacted = "[REDACTED]"

// Secret is a string that must not appear in logs, errors or output.
// The zero value is the empty secret ("not set"); New makes one.
type Secret struct {
	h unique.Handle[string] // zero for the empty secret
}

// New returns a Secret holding v; New("") is the zero Secret.
func New(v string) Secret {
	if v == "" {
		return Secret{}
	}
	return Secret{h: unique.Make(v)}
}

// Reveal returns the value. Call it only where the value is used (a
// handshake, an encryption step), never to print it.
func (s Secret) Reveal() string {
	if !s.IsSet() {
		return ""
	}
	return s.h.Value()
}

// IsSet reports whether the secret is non-empty.
func (s Secret) IsSet() bool { return s.h != unique.Handle[string]{} }

// IsZero reports whether the secret is empty, so that the `omitzero` JSON
// option leaves unset secrets out.
func (s Secret) IsZero() bool { return !s.IsSet() }

func (s Secret) redacted() string {
	if !s.IsSet() {
		return ""
	}
	return Redacted
}

// String returns Redacted for a set secret and "" for an empty one.
func (s Secret) String() string { return s.redacted() }

// GoString makes %#v print the redacted form.
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.redacted()) }

// Format makes every fmt verb (%s %v %+v %#v %q %x %d ...) print the
// redacted form.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", s.redacted())
	case 'v':
		if f.Flag('#') {
			fmt.Fprint(f, s.GoString())
			return
		}
		fmt.Fprint(f, s.redacted())
	default:
		fmt.Fprint(f, s.redacted())
	}
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.redacted()) }

// MarshalJSON writes the redacted form, never the value.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.redacted()) }

// MarshalText writes the redacted form, never the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.redacted()), nil }

// UnmarshalJSON reads a plain JSON string. The redacted placeholder is
// refused, so a redacted document cannot overwrite a real secret with it.
func (s *Secret) UnmarshalJSON(b []byte) error {
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("secret: must be a JSON string")
	}
	return s.UnmarshalText([]byte(v))
}

// UnmarshalText reads the plain value; the redacted placeholder is refused.
func (s *Secret) UnmarshalText(b []byte) error {
	if string(b) == Redacted {
		return fmt.Errorf("secret: the redacted placeholder %q is not a value", Redacted)
	}
	*s = New(string(b))
	return nil
}
