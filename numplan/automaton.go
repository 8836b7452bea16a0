package numplan

import (
	"encoding/binary"
	"fmt"
	"regexp/syntax"
	"slices"
)

// Automaton limits.
const (
	// MaxPatternStates bounds the deterministic automaton of one pattern.
	MaxPatternStates = 2048
	// maxProgInsts bounds the RE2 program of one pattern, so that building
	// its automaton stays well under a second.
	maxProgInsts = 512
	// MaxStates bounds the combined automaton of all internal patterns
	// (each state costs 68 bytes of transitions).
	MaxStates = 250000
)

// pdfa is the deterministic automaton of one pattern over the alphabet.
type pdfa struct {
	trans  []int32 // state*nsym+symbol -> state, -1 = dead
	accept []bool
	// counts[n] is the number of strings of length n the pattern matches,
	// n = 0..MaxNumberLen (float64: exact up to 2^53, ordered beyond).
	counts []float64
}

// buildPDFA compiles one RE2 expression (already checked by translate) to
// a DFA by subset construction over the RE2 program's instructions.
func buildPDFA(expr string) (*pdfa, error) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, err
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil, err
	}
	if len(prog.Inst) > maxProgInsts {
		return nil, complexError(fmt.Sprintf("the pattern compiles to %d instructions (limit %d)", len(prog.Inst), maxProgInsts))
	}
	b := &pdfaBuilder{prog: prog, index: map[string]int32{}, mark: make([]uint32, len(prog.Inst))}
	d := &pdfa{}
	start := b.closure([]uint32{uint32(prog.Start)}, syntax.EmptyBeginText|syntax.EmptyBeginLine)
	b.add(d, start)
	for s := 0; s < len(b.states); s++ {
		cur := b.states[s]
		for sym := 0; sym < nsym; sym++ {
			r := rune(alphabet[sym])
			var seeds []uint32
			for _, pc := range cur {
				in := &prog.Inst[pc]
				if consumes(in, r) {
					seeds = append(seeds, in.Out)
				}
			}
			next := int32(-1)
			if len(seeds) > 0 {
				set := b.closure(seeds, 0)
				if len(set) > 0 {
					next = b.add(d, set)
				}
			}
			d.trans[s*nsym+sym] = next
		}
		if len(b.states) > MaxPatternStates {
			return nil, complexError(fmt.Sprintf("the pattern needs more than %d automaton states", MaxPatternStates))
		}
	}
	d.count()
	return d, nil
}

func consumes(in *syntax.Inst, r rune) bool {
	switch in.Op {
	case syntax.InstRune, syntax.InstRune1:
		return in.MatchRune(r)
	case syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
		return true
	}
	return false
}

type pdfaBuilder struct {
	prog   *syntax.Prog
	states [][]uint32
	index  map[string]int32
	mark   []uint32
	gen    uint32
}

const endFlags = syntax.EmptyEndText | syntax.EmptyEndLine

// closure follows the non-consuming instructions from seeds. Kept in the
// result: consuming instructions, Match, and empty-width assertions that
// can only hold at the end of the number (checked by accepting).
func (b *pdfaBuilder) closure(seeds []uint32, flags syntax.EmptyOp) []uint32 {
	b.gen++
	var out []uint32
	stack := append([]uint32(nil), seeds...)
	for len(stack) > 0 {
		pc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if b.mark[pc] == b.gen {
			continue
		}
		b.mark[pc] = b.gen
		in := &b.prog.Inst[pc]
		switch in.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			stack = append(stack, in.Out, in.Arg)
		case syntax.InstCapture, syntax.InstNop:
			stack = append(stack, in.Out)
		case syntax.InstEmptyWidth:
			op := syntax.EmptyOp(in.Arg)
			switch {
			case op&^flags == 0:
				stack = append(stack, in.Out)
			case op&^(flags|endFlags) == 0:
				out = append(out, pc)
			}
		case syntax.InstFail:
		default:
			out = append(out, pc)
		}
	}
	slices.Sort(out)
	return out
}

// accepts reports whether a state matches at the end of the number.
func (b *pdfaBuilder) accepts(set []uint32) bool {
	for _, pc := range set {
		in := &b.prog.Inst[pc]
		switch in.Op {
		case syntax.InstMatch:
			return true
		case syntax.InstEmptyWidth:
			for _, q := range b.closure([]uint32{pc}, endFlags) {
				if b.prog.Inst[q].Op == syntax.InstMatch {
					return true
				}
			}
		}
	}
	return false
}

func (b *pdfaBuilder) add(d *pdfa, set []uint32) int32 {
	key := make([]byte, 0, 4*len(set))
	for _, pc := range set {
		key = binary.LittleEndian.AppendUint32(key, pc)
	}
	if id, ok := b.index[string(key)]; ok {
		return id
	}
	id := int32(len(b.states))
	b.index[string(key)] = id
	b.states = append(b.states, set)
	d.trans = append(d.trans, make([]int32, nsym)...)
	d.accept = append(d.accept, b.accepts(set))
	return id
}

// count fills counts by dynamic programming over the DFA: a DFA has one
// path per string, so path counts are string counts.
func (d *pdfa) count() {
	n := len(d.accept)
	cur := make([]float64, n)
	next := make([]float64, n)
	cur[0] = 1
	d.counts = make([]float64, MaxNumberLen+1)
	for l := 0; l <= MaxNumberLen; l++ {
		var total float64
		for s, c := range cur {
			if c != 0 && d.accept[s] {
				total += c
			}
		}
		d.counts[l] = total
		clear(next)
		for s, c := range cur {
			if c == 0 {
				continue
			}
			for sym := 0; sym < nsym; sym++ {
				if t := d.trans[s*nsym+sym]; t >= 0 {
					next[t] += c
				}
			}
		}
		cur, next = next, cur
	}
}

// automaton is the product of all pattern DFAs: one deterministic
// automaton whose states record which patterns are still alive, so that
// matching costs one table lookup per symbol whatever the number of
// patterns.
type automaton struct {
	trans []int32 // state*nsym+symbol -> state, -1 = no pattern can match
	// first[state] is the lowest-index pattern accepting in state, -1 none.
	first []int32
	// acc[accOff[state]:accOff[state+1]] lists the accepting patterns of
	// state in ascending order.
	accOff []int32
	acc    []int32
	// counts[p*(MaxNumberLen+1)+n] = strings of length n matched by p.
	counts []float64
}

type pair struct{ pat, st int32 }

// buildAutomaton combines the pattern DFAs by subset (product)
// construction, visiting only reachable states.
func buildAutomaton(ps []*pdfa) (*automaton, error) {
	a := &automaton{accOff: []int32{0}}
	index := map[string]int32{}
	var states [][]pair
	var key []byte
	add := func(set []pair) (int32, error) {
		key = key[:0]
		for _, p := range set {
			key = binary.LittleEndian.AppendUint32(key, uint32(p.pat))
			key = binary.LittleEndian.AppendUint32(key, uint32(p.st))
		}
		if id, ok := index[string(key)]; ok {
			return id, nil
		}
		if len(states) >= MaxStates {
			return 0, complexError(fmt.Sprintf("together they need more than %d automaton states; use fewer open-ended wildcards (! ? +)", MaxStates))
		}
		id := int32(len(states))
		index[string(key)] = id
		states = append(states, set)
		a.trans = append(a.trans, make([]int32, nsym)...)
		first := int32(-1)
		for _, p := range set {
			if ps[p.pat].accept[p.st] {
				if first < 0 {
					first = p.pat
				}
				a.acc = append(a.acc, p.pat)
			}
		}
		a.first = append(a.first, first)
		a.accOff = append(a.accOff, int32(len(a.acc)))
		return id, nil
	}
	start := make([]pair, len(ps))
	for i := range ps {
		start[i] = pair{int32(i), 0}
	}
	if _, err := add(start); err != nil {
		return nil, err
	}
	var next []pair
	for s := 0; s < len(states); s++ {
		for sym := 0; sym < nsym; sym++ {
			next = next[:0]
			for _, p := range states[s] {
				if t := ps[p.pat].trans[int(p.st)*nsym+sym]; t >= 0 {
					next = append(next, pair{p.pat, t})
				}
			}
			id := int32(-1)
			if len(next) > 0 {
				var err error
				if id, err = add(slices.Clone(next)); err != nil {
					return nil, err
				}
			}
			a.trans[s*nsym+sym] = id
		}
		states[s] = nil // no longer needed
	}
	a.counts = make([]float64, 0, len(ps)*(MaxNumberLen+1))
	for _, p := range ps {
		a.counts = append(a.counts, p.counts...)
	}
	return a, nil
}

// match returns the winning pattern for s (a sanitized number) or -1.
// It does not allocate.
func (a *automaton) match(s string, closest bool) int {
	if a == nil || len(s) == 0 || len(s) > MaxNumberLen {
		return -1
	}
	st := int32(0)
	for i := 0; i < len(s); i++ {
		sym := symIndex[s[i]]
		if sym < 0 {
			return -1
		}
		st = a.trans[int(st)*nsym+int(sym)]
		if st < 0 {
			return -1
		}
	}
	if !closest {
		return int(a.first[st])
	}
	best := int32(-1)
	var bestCount float64
	n := len(s)
	for _, p := range a.acc[a.accOff[st]:a.accOff[st+1]] {
		c := a.counts[int(p)*(MaxNumberLen+1)+n]
		if best < 0 || c < bestCount {
			best, bestCount = p, c
		}
	}
	return int(best)
}

// states returns the number of states.
func (a *automaton) states() int {
	if a == nil {
		return 0
	}
	return len(a.first)
}

// complexError is an ErrTooComplex with details, worded to follow a field
// name.
type complexError string

func (e complexError) Error() string        { return "too complex: " + string(e) }
func (e complexError) Is(target error) bool { return target == ErrTooComplex }
