package authchain

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Day is 24 hours, the unit of the "d" suffix accepted by Duration.
const Day = 24 * time.Hour

// Duration is a time.Duration whose JSON and text form is a string: a Go
// duration ("90m", "1h30m") optionally preceded by a whole number of days
// ("8d", "1d12h"). It marshals whole days as "8d" and anything else as
// "<days>d<rest>" or the Go form. Bare JSON numbers are refused because
// their unit would be a guess.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String returns the canonical text form ("8d", "1d12h0m0s", "1h0m0s").
func (d Duration) String() string {
	v := time.Duration(d)
	if v == 0 {
		return "0s"
	}
	neg := v < 0
	if neg {
		v = -v
	}
	days := v / Day
	rest := v % Day
	var s string
	switch {
	case days == 0:
		s = rest.String()
	case rest == 0:
		s = strconv.FormatInt(int64(days), 10) + "d"
	default:
		s = strconv.FormatInt(int64(days), 10) + "d" + rest.String()
	}
	if neg {
		return "-" + s
	}
	return s
}

// ParseDuration parses "8d", "1d12h", "36h", "90m" and every other Go
// duration. The day count must be a whole non-negative number.
func ParseDuration(s string) (Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("authchain: empty duration")
	}
	neg := false
	body := in
	if body[0] == '-' || body[0] == '+' {
		neg = body[0] == '-'
		body = body[1:]
	}
	var total time.Duration
	if i := strings.IndexByte(body, 'd'); i >= 0 {
		n, err := strconv.ParseUint(body[:i], 10, 32)
		if err != nil || i == 0 {
			return 0, fmt.Errorf("authchain: invalid duration %q: days must be a whole number before \"d\"", s)
		}
		if n > 100000 {
			return 0, fmt.Errorf("authchain: invalid duration %q: too many days", s)
		}
		total = time.Duration(n) * Day
		body = body[i+1:]
		if body == "" {
			if neg {
				total = -total
			}
			return Duration(total), nil
		}
	}
	rest, err := time.ParseDuration(body)
	if err != nil {
		return 0, fmt.Errorf("authchain: invalid duration %q: use a Go duration such as \"90m\" or days such as \"8d\"", s)
	}
	if rest < 0 {
		return 0, fmt.Errorf("authchain: invalid duration %q", s)
	}
	total += rest
	if total < 0 {
		return 0, fmt.Errorf("authchain: invalid duration %q: out of range", s)
	}
	if neg {
		total = -total
	}
	return Duration(total), nil
}

// MarshalText writes the String form.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses with ParseDuration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalJSON writes the String form as a JSON string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a JSON string in the ParseDuration form.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("authchain: a duration must be a JSON string such as \"8d\" or \"90m\"")
	}
	return d.UnmarshalText([]byte(s))
}
