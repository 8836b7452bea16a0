package sysparams

import (
	"strconv"
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
