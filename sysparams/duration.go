package sysparams

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Day is 24 hours, the unit of the seed's inactivity timeout.
const Day = 24 * time.Hour

// Duration is a time.Duration whose JSON and text forms accept a whole or
// decimal number of days ("8d", "1.5d") as well as any Go duration
// ("36h", "90m", "1h30m"), optionally combined ("1d12h"). A bare JSON number
// is refused: its unit would be a guess. It marshals as "<n>d" when it is a
// whole number of days and as a Go duration otherwise.
type Duration time.Duration

// ParseDuration parses the forms Duration accepts.
func ParseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("empty duration")
	}
	neg := false
	rest := in
	if rest[0] == '-' || rest[0] == '+' {
		neg = rest[0] == '-'
		rest = rest[1:]
	}
	var total time.Duration
	if i := strings.IndexByte(rest, 'd'); i >= 0 {
		days, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil || days < 0 || rest[:i] == "" || strings.ContainsAny(rest[:i], "eE") {
			return 0, fmt.Errorf("invalid duration %q (use e.g. \"8d\", \"36h\", \"1d12h\")", s)
		}
		if days > 100*365 {
			return 0, fmt.Errorf("duration %q out of range", s)
		}
		total = time.Duration(days * float64(Day))
		rest = rest[i+1:]
	}
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 || rest[0] == '-' || rest[0] == '+' {
			return 0, fmt.Errorf("invalid duration %q (use e.g. \"8d\", \"36h\", \"1d12h\")", s)
		}
		total += d
	}
	if neg {
		total = -total
	}
	return total, nil
}

// String returns "<n>d" for a whole number of days, else the Go form.
func (d Duration) String() string {
	td := time.Duration(d)
	if td != 0 && td%Day == 0 {
		return strconv.FormatInt(int64(td/Day), 10) + "d"
	}
	return td.String()
}

// MarshalText writes the String form.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses the forms ParseDuration accepts.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// UnmarshalJSON accepts a JSON string in the forms ParseDuration accepts.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"8d\" or \"36h\", got %s", b)
	}
	return d.UnmarshalText([]byte(s))
}
