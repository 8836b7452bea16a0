package numplan

import (
	"fmt"
	"sync"
)

// DefaultSuffixDigits is the length of the last-digits fallback key of an
// Index (Yeastar and others default to 7).
const DefaultSuffixDigits = 7

// Entry is one directory number in an Index.
type Entry struct {
	// ID identifies the contact (the caller's own identifier).
	ID string `json:"id"`
	// Number is the number as added.
	Number string `json:"number"`
	// Key is its lookup key (Plan.Normalize).
	Key string `json:"key"`
	// Kind is its kind.
	Kind Kind `json:"kind"`
}

// Match is one lookup hit. Weak reports a match on the last digits only,
// which the caller should confirm or rank (for instance with
// phonenumbers.IsNumberMatch on the few candidates).
type Match struct {
	Entry
	Weak bool `json:"weak,omitempty"`
}

// Index finds directory entries by the key of a caller or called number.
// Entries are normalized once, when added, with the Plan's Normalize; a
// lookup is one or two map reads and never compares numbers pairwise. It is
// safe for concurrent use.
type Index struct {
	plan      *Plan
	suffixLen int
	mu        sync.RWMutex // guards exact, suffix, n
	exact     map[string][]Entry
	suffix    map[string][]Entry
	n         int
}

// NewIndex returns an empty Index over p. suffixDigits is the length of
// the weak last-digits fallback: 0 means DefaultSuffixDigits, a negative
// value disables it.
func (p *Plan) NewIndex(suffixDigits int) *Index {
	if suffixDigits == 0 {
		suffixDigits = DefaultSuffixDigits
	}
	return &Index{plan: p, suffixLen: suffixDigits, exact: map[string][]Entry{}, suffix: map[string][]Entry{}}
}

// Add normalizes number and indexes it under id. It returns the entry, or
// an error for a number that is not a number (anonymous or invalid).
func (ix *Index) Add(id, number string) (Entry, error) {
	r := ix.plan.Normalize(number)
	if r.Err != nil {
		return Entry{}, r.Err
	}
	if r.Kind == KindAnonymous {
		return Entry{}, fmt.Errorf("numplan: index: %q is not a number", number)
	}
	e := Entry{ID: id, Number: number, Key: r.Key, Kind: r.Kind}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.exact[e.Key] = append(ix.exact[e.Key], e)
	if sk, ok := ix.suffixKey(e.Key, e.Kind); ok {
		ix.suffix[sk] = append(ix.suffix[sk], e)
	}
	ix.n++
	return e, nil
}

// Len returns the number of entries added.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.n
}

// suffixKey returns the last suffixLen digits of an external or unknown
// key that has at least that many digits.
func (ix *Index) suffixKey(key string, k Kind) (string, bool) {
	if ix.suffixLen < 0 || (k != KindExternal && k != KindUnknown) {
		return "", false
	}
	n := 0
	for i := len(key) - 1; i >= 0 && n < ix.suffixLen; i-- {
		if key[i] < '0' || key[i] > '9' {
			return "", false
		}
		n++
	}
	if n < ix.suffixLen || len(key) == n && key[0] == '+' {
		return "", false
	}
	return key[len(key)-ix.suffixLen:], true
}

// Lookup returns the entries for a Result of In, TAPI or Normalize: the
// entries with the same key, else those with the same legacy key, else
// (weak) those with the same last digits. Anonymous and failed results
// find nothing.
func (ix *Index) Lookup(r Result) []Match {
	if r.Err != nil || r.Kind == KindAnonymous || r.Key == "" {
		return nil
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if es := ix.exact[r.Key]; len(es) > 0 {
		return matches(es, false)
	}
	if r.LegacyKey != "" && r.LegacyKey != r.Key {
		if es := ix.exact[r.LegacyKey]; len(es) > 0 {
			return matches(es, false)
		}
	}
	if sk, ok := ix.suffixKey(r.Key, r.Kind); ok {
		if es := ix.suffix[sk]; len(es) > 0 {
			return matches(es, true)
		}
	}
	return nil
}

// LookupIn is Lookup(plan.In(number)), for caller numbers.
func (ix *Index) LookupIn(number string) []Match { return ix.Lookup(ix.plan.In(number)) }

func matches(es []Entry, weak bool) []Match {
	out := make([]Match, 0, len(es))
	seen := map[string]bool{}
	for _, e := range es {
		if seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		out = append(out, Match{Entry: e, Weak: weak})
	}
	return out
}
