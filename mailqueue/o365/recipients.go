package o365

import (
	"bufio"
	"bytes"
	"net/mail"
	"net/textproto"
	"strings"
)

// withEnvelopeRecipients returns msg with a Bcc header field naming the
// envelope recipients that its To, Cc and Bcc fields do not list. Graph and
// EWS take the recipients from the MIME header, not from an envelope, so
// without this an envelope-only recipient (a Bcc the composer already
// stripped) would silently get nothing. Exchange removes Bcc from the copy
// other recipients see. msg is returned unchanged when every envelope
// recipient is already listed.
func withEnvelopeRecipients(msg []byte, to []string) []byte {
	listed := headerRecipients(msg)
	var missing []string
	seen := map[string]bool{}
	for _, rcpt := range to {
		k := strings.ToLower(strings.TrimSpace(rcpt))
		if k == "" || listed[k] || seen[k] {
			continue
		}
		seen[k] = true
		missing = append(missing, strings.TrimSpace(rcpt))
	}
	if len(missing) == 0 {
		return msg
	}
	var b bytes.Buffer
	b.Grow(len(msg) + 8 + 40*len(missing))
	b.WriteString("Bcc: ")
	for i, a := range missing {
		if i > 0 {
			// Fold long lists (RFC 5322 §2.2.3).
			b.WriteString(",\r\n ")
		}
		b.WriteString("<" + a + ">")
	}
	b.WriteString("\r\n")
	b.Write(msg)
	return b.Bytes()
}

// headerRecipients returns the lower-cased addresses in the To, Cc and Bcc
// fields of the message header. Unparsable fields contribute nothing, so
// their recipients are added again as Bcc rather than lost.
func headerRecipients(msg []byte) map[string]bool {
	out := map[string]bool{}
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(msg)))
	h, err := r.ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return out
	}
	for _, field := range []string{"To", "Cc", "Bcc"} {
		for _, v := range h[field] {
			list, err := (&mail.AddressParser{}).ParseList(v)
			if err != nil {
				continue
			}
			for _, a := range list {
				out[strings.ToLower(a.Address)] = true
			}
		}
	}
	return out
}
