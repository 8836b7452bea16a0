package smtpsend

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// plainConfig is Config without methods, for printing its fields.
type plainConfig Config

// tokensSet stands in for a configured TokenSource when a Config is
// printed: a token source may hold a token in a plain string field.
type tokensSet struct{}

// Token implements TokenSource; it is never called.
func (tokensSet) Token(ctx context.Context, refresh bool) (string, error) {
	return "", fmt.Errorf("smtpsend: placeholder token source")
}

// String names the placeholder.
func (tokensSet) String() string { return "[token source]" }

// Format prints the fields of c with the password redacted and the token
// source hidden, for every verb: %v, %+v and %#v as for a struct, any other
// verb (%s, %d, %x, ...) as %v. The fmt package prints a value it cannot
// format with the verb asked for with every method switched off, Secret's
// included, which would print the password of a Config nested by pointer;
// this method runs before that fallback.
func (c Config) Format(f fmt.State, verb rune) {
	p := plainConfig(c)
	if p.Tokens != nil {
		p.Tokens = tokensSet{}
	}
	switch {
	case verb == 'v' && f.Flag('#'):
		io.WriteString(f, strings.Replace(fmt.Sprintf("%#v", p), "smtpsend.plainConfig", "smtpsend.Config", 1))
	case verb == 'v' && f.Flag('+'):
		fmt.Fprintf(f, "%+v", p)
	case verb == 'q':
		fmt.Fprintf(f, "%q", fmt.Sprintf("%+v", p))
	default:
		fmt.Fprintf(f, "%v", p)
	}
}

// String describes the sender without credentials:
// "smtpsend.Sender{smtp.example.com:587 security=auto user=vm@example.com}".
func (s *Sender) String() string {
	if s == nil || s.set == nil {
		return "smtpsend.Sender{}"
	}
	d := s.set.addr + " security=" + string(s.set.security)
	if s.set.Username != "" {
		d += " user=" + s.set.Username
	}
	return "smtpsend.Sender{" + d + "}"
}

// Format prints String() for every verb, so that no path of the fmt
// package reaches the configuration behind the Sender.
func (s *Sender) Format(f fmt.State, verb rune) { io.WriteString(f, s.String()) }
