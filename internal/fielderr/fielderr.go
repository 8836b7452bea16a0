// Package fielderr is the validation-error shape shared by ucxkit's
// packages: each problem names its field path, and a composing package
// (sysparams) can prefix the paths of a section's errors with the section
// name, so that one Validate call reports every problem as
// "email.port: must be 1-65535, got 70000".
//
// Public packages re-export the type as an alias (proxycfg.FieldError, ...)
// so callers can inspect problems with errors.As without importing an
// internal package.
package fielderr

import (
	"errors"
	"fmt"
)

// Error is one validation problem of one field.
type Error struct {
	// Field is the dotted path of the field in the JSON form of the
	// configuration ("http.port", "internal_patterns[2]").
	Field string
	// Problem says what is wrong, in lower case, without the field name.
	Problem string
}

// Error returns "field: problem".
func (e *Error) Error() string {
	if e.Field == "" {
		return e.Problem
	}
	return e.Field + ": " + e.Problem
}

// New returns an *Error for field with a formatted problem.
func New(field, format string, args ...any) *Error {
	return &Error{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// List collects the problems found by one validation pass. The zero value is
// ready to use.
type List struct {
	errs []error
}

// Add records a problem of field.
func (l *List) Add(field, format string, args ...any) {
	l.errs = append(l.errs, New(field, format, args...))
}

// Merge records every problem of err (a single error or a joined one) with
// its field paths prefixed by prefix. A nil err adds nothing.
func (l *List) Merge(prefix string, err error) {
	if err == nil {
		return
	}
	l.errs = append(l.errs, Flatten(Prefix(prefix, err))...)
}

// Err returns nil when no problem was recorded, else all of them joined.
func (l *List) Err() error {
	if len(l.errs) == 0 {
		return nil
	}
	return errors.Join(l.errs...)
}

// Flatten returns the leaves of a tree of joined errors, in order.
func Flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// Prefix returns err with the field path of every *Error among its joined
// leaves prefixed by prefix ("proxy" + "http.port" = "proxy.http.port").
// Leaves that are not *Error become an *Error of the prefix itself, so the
// section is still named. An empty prefix returns err unchanged.
func Prefix(prefix string, err error) error {
	if err == nil || prefix == "" {
		return err
	}
	leaves := Flatten(err)
	out := make([]error, 0, len(leaves))
	for _, leaf := range leaves {
		var fe *Error
		if errors.As(leaf, &fe) {
			field := prefix
			if fe.Field != "" {
				if fe.Field[0] == '[' {
					field += fe.Field
				} else {
					field += "." + fe.Field
				}
			}
			out = append(out, &Error{Field: field, Problem: fe.Problem})
			continue
		}
		out = append(out, &Error{Field: prefix, Problem: leaf.Error()})
	}
	return errors.Join(out...)
}
