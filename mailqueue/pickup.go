package mailqueue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// maxPickupSize bounds a pickup file; larger files are quarantined.
const maxPickupSize = 64 << 20

// Quarantiner is an optional Store capability: move an unreadable file
// aside with a reason. The Spool moves it to its corrupt/ folder; without
// it, pickup renames bad files to <name>.bad next to a <name>.reason.
type Quarantiner interface {
	Quarantine(path string, reason error)
}

// Quarantine moves the file at path into corrupt/ next to a .reason file.
func (s *Spool) Quarantine(path string, reason error) { s.quarantine(path, reason) }

// ErrPickup is matched (errors.Is) by every ParsePickup error: the
// message cannot be queued as it is. Its text names no source; the
// *MessageError that ParsePickup returns carries one.
var ErrPickup = errors.New("mailqueue: unusable message")

// MessageError is the error of ParsePickup and ParsePickupWithEnvelope (and
// of an oversized pickup file): what is wrong with a message and where it
// came from. errors.Is(err, ErrPickup) reports true for it.
type MessageError struct {
	// Source names where the message came from: a file path, "stdin".
	// ParsePickup cannot know it and leaves it empty ("message" is shown);
	// the caller that read the bytes sets it, as Queue.IngestPickup does
	// with the pickup file's path.
	Source string
	// Problem says what is wrong, e.g. `malformed header line "x"`.
	Problem string
	// Err is the underlying error, if any (for errors.As).
	Err error
}

// Error returns "mailqueue: SOURCE: PROBLEM".
func (e *MessageError) Error() string {
	src := e.Source
	if src == "" {
		src = "message"
	}
	return "mailqueue: " + src + ": " + e.Problem
}

// Is reports whether target is ErrPickup.
func (e *MessageError) Is(target error) bool { return target == ErrPickup }

// Unwrap returns the underlying error.
func (e *MessageError) Unwrap() error { return e.Err }

// WithSource returns err with Source set to source when err is (or wraps) a
// *MessageError, and err unchanged otherwise. It does not modify err.
func WithSource(err error, source string) error {
	var me *MessageError
	if !errors.As(err, &me) {
		return err
	}
	c := *me
	c.Source = source
	return &c
}

func msgErr(err error, format string, args ...any) error {
	return &MessageError{Problem: fmt.Sprintf(format, args...), Err: err}
}

// ParsePickup turns a file dropped into the pickup folder into an envelope
// and the bytes to send:
//
//   - line endings become CRLF (files written on Unix use bare LF);
//   - the envelope comes from X-Sender / X-Receiver header fields (the IIS
//     pickup format, one address per field), else from From (the sender)
//     and To, Cc and Bcc (the recipients);
//   - X-Sender, X-Receiver and Bcc fields are removed before sending;
//   - Date and Message-ID are added when missing, so retries send
//     identical bytes.
//
// host names the Message-ID's right-hand side ("localhost" when empty).
func ParsePickup(raw []byte, now time.Time, host string) (Envelope, []byte, error) {
	return ParsePickupWithEnvelope(raw, now, host, Envelope{})
}

// ParsePickupWithEnvelope is ParsePickup where a non-empty env.From or
// env.To takes precedence over the header fields (the "mailq enqueue -from
// -to" flags); Bcc and X-Sender/X-Receiver are still removed.
func ParsePickupWithEnvelope(raw []byte, now time.Time, host string, override Envelope) (Envelope, []byte, error) {
	msg := toCRLF(raw)
	hdr, body, found := bytes.Cut(msg, []byte("\r\n\r\n"))
	if !found {
		hdr = bytes.TrimSuffix(msg, []byte("\r\n"))
		body = nil
	}
	if len(bytes.TrimSpace(hdr)) == 0 {
		return Envelope{}, nil, msgErr(nil, "no header fields")
	}
	var fields [][]byte
	for _, line := range bytes.Split(hdr, []byte("\r\n")) {
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			if len(fields) == 0 {
				return Envelope{}, nil, msgErr(nil, "continuation line before the first header field")
			}
			fields[len(fields)-1] = append(append(fields[len(fields)-1], '\r', '\n'), line...)
			continue
		}
		if i := bytes.IndexByte(line, ':'); i <= 0 || bytes.ContainsAny(line[:i], " \t") {
			return Envelope{}, nil, msgErr(nil, "malformed header line %q", truncate(line, 60))
		}
		fields = append(fields, bytes.Clone(line))
	}
	var env Envelope
	var from, rcpts []string
	hasSender, hasReceiver, hasDate, hasMID := false, false, false, false
	var kept [][]byte
	for _, f := range fields {
		i := bytes.IndexByte(f, ':')
		name := strings.ToLower(string(f[:i]))
		value := strings.TrimSpace(unfold(string(f[i+1:])))
		switch name {
		case "x-sender":
			hasSender = true
			env.From = strings.Trim(value, "<> ")
			continue
		case "x-receiver":
			hasReceiver = true
			env.To = append(env.To, strings.Trim(value, "<> "))
			continue
		case "from":
			from = append(from, value)
		case "to", "cc":
			rcpts = append(rcpts, value)
		case "bcc":
			rcpts = append(rcpts, value)
			continue
		case "date":
			hasDate = true
		case "message-id":
			hasMID = true
		}
		kept = append(kept, f)
	}
	if override.From != "" {
		hasSender, env.From = true, override.From
	}
	if len(override.To) > 0 {
		hasReceiver, env.To = true, override.To
	}
	if !hasSender {
		if len(from) == 0 {
			return Envelope{}, nil, msgErr(nil, "no sender (X-Sender or From)")
		}
		addrs, err := mail.ParseAddressList(from[0])
		if err != nil {
			return Envelope{}, nil, msgErr(err, "From: %v", err)
		}
		if len(addrs) == 0 {
			return Envelope{}, nil, msgErr(nil, "From: no address")
		}
		env.From = addrs[0].Address
	}
	if !hasReceiver {
		for _, v := range rcpts {
			if v == "" {
				continue
			}
			addrs, err := mail.ParseAddressList(v)
			if err != nil {
				return Envelope{}, nil, msgErr(err, "recipients: %v", err)
			}
			for _, a := range addrs {
				env.To = append(env.To, a.Address)
			}
		}
	}
	if err := ValidateEnvelope(env); err != nil {
		return Envelope{}, nil, msgErr(err, "%s", strings.TrimPrefix(err.Error(), "mailqueue: "))
	}
	if host == "" {
		host = "localhost"
	}
	if !hasDate {
		kept = append(kept, []byte("Date: "+now.Format(time.RFC1123Z)))
	}
	if !hasMID {
		kept = append(kept, []byte("Message-ID: <"+newID(now)+"."+randHex(4)+"@"+host+">"))
	}
	var out bytes.Buffer
	out.Grow(len(msg) + 128)
	for _, f := range kept {
		out.Write(f)
		out.WriteString("\r\n")
	}
	out.WriteString("\r\n")
	out.Write(body)
	return env, out.Bytes(), nil
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

func unfold(s string) string {
	return strings.NewReplacer("\r\n ", " ", "\r\n\t", " ").Replace(s)
}

// toCRLF turns bare LF and bare CR into CRLF.
func toCRLF(b []byte) []byte {
	if !bytes.ContainsAny(b, "\r\n") {
		return b
	}
	out := make([]byte, 0, len(b)+len(b)/40)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '\r':
			out = append(out, '\r', '\n')
			if i+1 < len(b) && b[i+1] == '\n' {
				i++
			}
		case '\n':
			out = append(out, '\r', '\n')
		default:
			out = append(out, c)
		}
	}
	return out
}

// isPickupName reports whether a pickup folder entry is a complete
// message: a visible .eml file (writers must create it elsewhere on the
// same volume and rename it in).
func isPickupName(name string) bool {
	return !strings.HasPrefix(name, ".") && strings.EqualFold(filepath.Ext(name), ".eml")
}

// IngestPickup enqueues every complete .eml file in Config.PickupDir, oldest
// name first, and removes each once it is durable in the store; unreadable
// files are quarantined. It returns how many messages it enqueued. A crash
// between the enqueue and the removal of the file enqueues it again (at
// least once). Without a Sender it leaves the files where they are and
// returns ErrNotConfigured.
func (q *Queue) IngestPickup(ctx context.Context) (int, error) {
	dir := q.cfg.PickupDir
	if dir == "" {
		return 0, nil
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("mailqueue: pickup: %w", err)
	}
	host, _ := os.Hostname()
	n := 0
	for _, de := range des {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		if !de.Type().IsRegular() || !isPickupName(de.Name()) {
			continue
		}
		p := filepath.Join(dir, de.Name())
		raw, err := readLimited(p, maxPickupSize)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		var env Envelope
		var msg []byte
		if err == nil {
			env, msg, err = ParsePickup(raw, q.now(), host)
			err = WithSource(err, p)
		}
		if err != nil {
			q.quarantinePickup(p, err)
			continue
		}
		id, err := q.Enqueue(ctx, env, msg)
		if err != nil {
			return n, err
		}
		if err := os.Remove(p); err != nil {
			q.log.Error("mailqueue: pickup: enqueued but not removed (would be sent twice)", "file", p, "id", id, "err", err)
			return n, fmt.Errorf("mailqueue: pickup: %w", err)
		}
		q.log.Info("mailqueue: pickup: enqueued", "file", de.Name(), "id", id)
		n++
	}
	return n, nil
}

func readLimited(p string, limit int64) ([]byte, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if fi.Size() > limit {
		return nil, &MessageError{Source: p, Problem: fmt.Sprintf("%d bytes, more than the %d allowed", fi.Size(), limit)}
	}
	return os.ReadFile(p)
}

func (q *Queue) quarantinePickup(p string, why error) {
	q.log.Warn("mailqueue: pickup: unreadable file quarantined", "file", p, "err", why)
	if qs, ok := q.cfg.Store.(Quarantiner); ok {
		qs.Quarantine(p, why)
		return
	}
	if err := os.Rename(p, p+".bad"); err == nil {
		_ = os.WriteFile(p+".reason", []byte(why.Error()+"\n"), 0o600)
	}
}

func (q *Queue) pickupLoop(ctx context.Context) {
	t := time.NewTicker(q.cfg.PollInterval)
	defer t.Stop()
	for {
		q.mu.Lock()
		stop := q.stopping
		q.mu.Unlock()
		if stop {
			return
		}
		if _, err := q.IngestPickup(ctx); err != nil && !errors.Is(err, ErrNotConfigured) && ctx.Err() == nil {
			q.log.Error("mailqueue: pickup", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
