package sysparams

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
)

// Format prints the JSON form of the parameters (secrets redacted) for
// every verb. Without it, fmt would print a nested pointer (proxy.http)
// under a verb such as %s or %x without calling the Secret's own
// formatting, revealing its value.
func (p Params) Format(f fmt.State, verb rune) {
	b, err := json.Marshal(p)
	if err != nil {
		fmt.Fprintf(f, "sysparams.Params{%v}", err)
		return
	}
	fmt.Fprintf(f, "sysparams.Params%s", b)
}

// LogValue logs the JSON form of the parameters, secrets redacted.
func (p Params) LogValue() slog.Value {
	b, err := json.Marshal(p)
	if err != nil {
		return slog.StringValue("sysparams.Params{" + err.Error() + "}")
	}
	return slog.StringValue(string(b))
}

// Format prints the change (revision, sections, fields, restart, notes)
// for every verb, never the old or new values.
func (c Change) Format(f fmt.State, verb rune) {
	b, _ := json.Marshal(c)
	fmt.Fprintf(f, "sysparams.Change%s", b)
}

// LogValue logs the change without the old and new values.
func (c Change) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int64("revision", c.Revision),
		slog.Any("sections", c.Sections),
		slog.Any("fields", c.Fields),
		slog.String("restart", c.Restart.String()),
	)
}

// Format prints the key IDs for every verb, never the keys: without it,
// %d or %x would print the key bytes.
func (k *Keyring) Format(f fmt.State, verb rune) { io.WriteString(f, k.String()) }

// String names the parameter and key files.
func (s *FileStore) String() string {
	return fmt.Sprintf("sysparams.FileStore{file=%s key_file=%s}", s.path, s.keyPath)
}

// Format prints String for every verb: the store keeps the keys and the
// decrypted parameters, which fmt's reflection would otherwise print for
// a verb such as %s.
func (s *FileStore) Format(f fmt.State, verb rune) { io.WriteString(f, s.String()) }
