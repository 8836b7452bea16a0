package sysparams

import (
	"errors"
	"strconv"

	"github.com/ucxkit/ucxkit/internal/fielderr"
)

func strconvQuote(s string) string { return strconv.Quote(s) }

// atoiStrict parses a decimal without sign or spaces.
func atoiStrict(s string) (int, error) {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, strconv.ErrSyntax
		}
	}
	return strconv.Atoi(s)
}

func fieldIndex(name string, i int) string { return name + "[" + strconv.Itoa(i) + "]" }

// mergeMissing returns mine joined with the problems of theirs (another
// package's validation of the same values) whose field, after renaming and
// prefixing, mine does not already report. It lets a section reuse a
// package's checks without reporting one problem twice.
func mergeMissing(mine error, prefix string, theirs error, rename map[string]string) error {
	have := map[string]bool{}
	all := fielderr.Flatten(mine)
	for _, e := range all {
		var fe *fielderr.Error
		if errors.As(e, &fe) {
			have[fe.Field] = true
		}
	}
	for _, e := range fielderr.Flatten(theirs) {
		var fe *fielderr.Error
		if !errors.As(e, &fe) {
			all = append(all, fielderr.New(prefix, "%v", e))
			continue
		}
		field := fe.Field
		if r, ok := rename[field]; ok {
			field = r
		}
		if prefix != "" {
			field = joinPath(prefix, field)
		}
		if have[field] {
			continue
		}
		have[field] = true
		all = append(all, &fielderr.Error{Field: field, Problem: fe.Problem})
	}
	return errors.Join(all...)
}
