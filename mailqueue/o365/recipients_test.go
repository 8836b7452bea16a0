package o365

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestWithEnvelopeRecipients(t *testing.T) {
	const hdr = "From: a@x.example\r\nTo: \"Bob B.\" <bob@example.com>, carol@example.com\r\nCc: =?utf-8?q?D=C3=A9?= <dave@example.com>\r\nBcc: erin@example.com\r\nSubject: s\r\n\r\nbody\r\nTo: notaheader@example.com\r\n"
	cases := []struct {
		name string
		msg  string
		to   []string
		want string
	}{
		{"all listed", hdr, []string{"BOB@example.com", "carol@example.com", "dave@example.com", "erin@example.com"}, hdr},
		{"one missing", hdr, []string{"bob@example.com", "frank@example.com"}, "Bcc: <frank@example.com>\r\n" + hdr},
		{"body lines do not count", hdr, []string{"notaheader@example.com"}, "Bcc: <notaheader@example.com>\r\n" + hdr},
		{"several missing folded, deduplicated", "Subject: x\r\n\r\nb\r\n", []string{"a@e.example", "b@e.example", "A@E.example"},
			"Bcc: <a@e.example>,\r\n <b@e.example>\r\nSubject: x\r\n\r\nb\r\n"},
		{"unparsable To is not trusted", "To: <<broken\r\n\r\nb\r\n", []string{"x@e.example"}, "Bcc: <x@e.example>\r\nTo: <<broken\r\n\r\nb\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, string(withEnvelopeRecipients([]byte(tc.msg), tc.to)))
		})
	}
}

func FuzzWithEnvelopeRecipients(f *testing.F) {
	f.Add([]byte("To: a@b.example\r\n\r\nx"), "c@d.example")
	f.Add([]byte("To: =?utf-8?b?w6k=?= <a@b.example>, (comment) x@y.example\r\nCc: \r\n\r\n"), "a@b.example")
	f.Add([]byte("\r\n"), "")
	f.Fuzz(func(t *testing.T, msg []byte, rcpt string) {
		out := withEnvelopeRecipients(msg, []string{rcpt})
		if !bytes.HasSuffix(out, msg) {
			t.Fatalf("message body changed")
		}
		if len(out) > len(msg) {
			added := string(out[:len(out)-len(msg)])
			if !strings.HasPrefix(added, "Bcc: <") || !strings.HasSuffix(added, ">\r\n") {
				t.Fatalf("bad added field %q", added)
			}
		}
	})
}
