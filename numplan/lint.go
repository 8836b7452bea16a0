package numplan

import (
	"fmt"
	"slices"
	"strings"
)

// Finding is one lint result about the internal patterns.
type Finding struct {
	// Rule is the index of the pattern the finding is about.
	Rule int `json:"rule"`
	// Pattern is its text.
	Pattern string `json:"pattern"`
	// CoveredBy lists the earlier rules that match every number Rule
	// matches (empty when the rule matches nothing at all).
	CoveredBy []int `json:"covered_by,omitempty"`
	// Message explains the finding.
	Message string `json:"message"`
}

// String returns the message.
func (f Finding) String() string { return f.Message }

// lintAutomaton finds the rules that never win in first mode. It is exact:
// the combined automaton has one reachable state per class of numbers, and
// a rule wins first mode somewhere iff it is the lowest accepting rule of
// some state.
func lintAutomaton(a *automaton, patterns []string) []Finding {
	wins := make([]bool, len(patterns))
	accepts := make([]bool, len(patterns))
	for s := range a.first {
		if f := a.first[s]; f >= 0 {
			wins[f] = true
		}
		for _, p := range a.acc[a.accOff[s]:a.accOff[s+1]] {
			accepts[p] = true
		}
	}
	covered := map[int][]int{}
	for s := range a.first {
		for _, p := range a.acc[a.accOff[s]:a.accOff[s+1]] {
			f := int(a.first[s])
			if !wins[p] && !slices.Contains(covered[int(p)], f) {
				covered[int(p)] = append(covered[int(p)], f)
			}
		}
	}
	var out []Finding
	for k := range patterns {
		if wins[k] {
			continue
		}
		f := Finding{Rule: k, Pattern: patterns[k]}
		if !accepts[k] {
			f.Message = fmt.Sprintf("rule %d %q matches no number", k, patterns[k])
			out = append(out, f)
			continue
		}
		f.CoveredBy = covered[k]
		slices.Sort(f.CoveredBy)
		names := make([]string, len(f.CoveredBy))
		for i, j := range f.CoveredBy {
			names[i] = fmt.Sprintf("%d %q", j, patterns[j])
		}
		f.Message = fmt.Sprintf("rule %d %q can never match in first mode: every number it matches is matched by earlier rule %s", k, patterns[k], strings.Join(names, ", "))
		out = append(out, f)
	}
	return out
}
