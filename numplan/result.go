package numplan

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// Kind classifies a number.
type Kind string

// Kinds.
const (
	// KindInternal is a number matched by an internal pattern (or the
	// user's primary extension in Out): dialled without access code.
	KindInternal Kind = "internal"
	// KindExternal is a valid public number; its key is E.164.
	KindExternal Kind = "external"
	// KindService is an emergency number of the local country, dialled as
	// it is.
	KindService Kind = "service"
	// KindAnonymous is a withheld or empty caller number.
	KindAnonymous Kind = "anonymous"
	// KindUnknown is a number that is neither internal nor a valid public
	// number; its key is its digits, never a guessed E.164.
	KindUnknown Kind = "unknown"
)

// Direction names the operation that produced a Result.
type Direction string

// Directions.
const (
	// DirIn turns a caller number into a directory lookup key.
	DirIn Direction = "in"
	// DirTAPI turns the called number of an outgoing call, as the PBX
	// reports it, into a lookup key.
	DirTAPI Direction = "tapi"
	// DirOut turns a directory number into a dial string.
	DirOut Direction = "out"
	// DirClassify only runs the internal-pattern check.
	DirClassify Direction = "classify"
	// DirNormalize turns a directory number into its key (In without the
	// incoming prefix).
	DirNormalize Direction = "normalize"
)

// Step is one line of an explain trace: the step name, the value after
// the step, and why.
type Step struct {
	Step  string `json:"step"`
	Value string `json:"value,omitempty"`
	Note  string `json:"note,omitempty"`
}

// Result is the outcome of one In, TAPI, Out, Classify or Normalize call.
// Results are values; they share nothing with the Plan.
type Result struct {
	// Input is the number as given.
	Input string
	// Direction is the operation.
	Direction Direction
	// Kind is the class of the number ("" when Err is set before
	// classification).
	Kind Kind
	// Key is the lookup key: the E.164 form for external numbers, the
	// sanitized number for internal and service numbers, the digits for
	// unknown ones.
	Key string
	// LegacyKey is the key the seed's algorithm computes (incoming prefix
	// stripped, international prefix turned into "+", the literal local
	// country code stripped), for directories filled that way.
	LegacyKey string
	// Dial is the dial string (Out only).
	Dial string
	// Rule is the index of the internal pattern that matched, -1 for none.
	Rule int
	// Explain is the trace of every step, when requested.
	Explain []Step
	// Err is set for input that is not a number (a *NumberError) and for
	// Out of an anonymous number (ErrNothingToDial).
	Err error
}

// MarshalJSON writes the CLI form {"input","direction","kind","key",
// "legacy_key","dial","rule","explain","error"} with empty fields (and a
// negative rule) omitted.
func (r Result) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	field := func(name string, v any) error {
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(strconv.Quote(name))
		b.WriteByte(':')
		enc, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b.Write(enc)
		return nil
	}
	str := func(name, v string) error {
		if v == "" {
			return nil
		}
		return field(name, v)
	}
	for _, f := range []struct{ name, v string }{
		{"input", r.Input}, {"direction", string(r.Direction)}, {"kind", string(r.Kind)},
		{"key", r.Key}, {"legacy_key", r.LegacyKey}, {"dial", r.Dial},
	} {
		if err := str(f.name, f.v); err != nil {
			return nil, err
		}
	}
	if r.Rule >= 0 {
		if err := field("rule", r.Rule); err != nil {
			return nil, err
		}
	}
	if len(r.Explain) > 0 {
		if err := field("explain", r.Explain); err != nil {
			return nil, err
		}
	}
	if r.Err != nil {
		if err := field("error", r.Err.Error()); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// trace collects explain steps; a nil *trace records nothing, so the
// normal path pays one nil check per step.
type trace struct{ steps []Step }

func (t *trace) add(step, value, note string) {
	if t != nil {
		t.steps = append(t.steps, Step{Step: step, Value: value, Note: note})
	}
}
