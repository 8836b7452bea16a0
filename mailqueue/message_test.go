package mailqueue_test

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/mailqueue"
)

// parsedPart is a leaf of a parsed message.
type parsedPart struct {
	MediaType   string
	Disposition string
	Filename    string
	ContentID   string
	Body        []byte
}

// parseMessage decodes raw with go-message and returns its header and leaves
// in order, plus the media types of every entity (depth-first).
func parseMessage(t testing.TB, raw []byte) (gomail.Header, []parsedPart, []string) {
	t.Helper()
	e, err := message.Read(bytes.NewReader(raw))
	require.NoError(t, err)
	var leaves []parsedPart
	var types []string
	require.NoError(t, e.Walk(func(path []int, ent *message.Entity, err error) error {
		if err != nil {
			return err
		}
		mt, _, _ := ent.Header.ContentType()
		types = append(types, mt)
		if strings.HasPrefix(mt, "multipart/") {
			return nil
		}
		body, err := io.ReadAll(ent.Body)
		if err != nil {
			return err
		}
		ah := gomail.AttachmentHeader{Header: ent.Header}
		fn, _ := ah.Filename()
		disp, _, _ := ent.Header.ContentDisposition()
		leaves = append(leaves, parsedPart{MediaType: mt, Disposition: disp, Filename: fn, ContentID: ent.Header.Get("Content-ID"), Body: body})
		return nil
	}))
	return gomail.Header{Header: e.Header}, leaves, types
}

func maxLine(b []byte) int {
	n := 0
	for _, l := range bytes.Split(b, []byte("\r\n")) {
		if len(l) > n {
			n = len(l)
		}
	}
	return n
}

func crlf(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

func TestBuildHostileBodies(t *testing.T) {
	longHTML := "<p>" + strings.Repeat("Grüße aus der Zentrale ", 900)[:20000] + "</p>"
	require.GreaterOrEqual(t, len(longHTML), 20000)
	text := "Template line 1\nline 2 with bare LF\r\nCRLF line\rlone CR\n.\n.hidden\n..double\nlast line ."
	m := &mailqueue.Message{
		From:    mail.Address{Name: "Voicemail", Address: "vm@example.com"},
		To:      []mail.Address{{Address: "bob@example.com"}},
		Subject: "Report",
		Text:    text,
		HTML:    longHTML,
	}
	raw, err := m.Build()
	require.NoError(t, err)
	require.NoError(t, mailqueue.CheckWireFormat(raw))
	require.LessOrEqual(t, maxLine(raw), 998)
	require.LessOrEqual(t, maxLine(raw), 78, "quoted-printable keeps lines short")
	require.NotContains(t, strings.ReplaceAll(string(raw), "\r\n", ""), "\n")
	require.NotContains(t, strings.ReplaceAll(string(raw), "\r\n", ""), "\r")

	_, leaves, types := parseMessage(t, raw)
	require.Equal(t, []string{"multipart/alternative", "text/plain", "text/html"}, types)
	require.Equal(t, crlf(text), string(leaves[0].Body))
	require.Equal(t, longHTML, string(leaves[1].Body))
}

func TestBuildInternationalHeadersAndAttachment(t *testing.T) {
	wav := append([]byte("RIFF\x24\x00\x00\x00WAVEfmt "), bytes.Repeat([]byte{0, 0xff, '\r', '\n', '.', '\n'}, 5000)...)
	pdf := []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	m := &mailqueue.Message{
		From:    mail.Address{Name: "Zoë Müller, Zentrale", Address: "zentrale@example.com"},
		To:      []mail.Address{{Name: "Jürgen Groß", Address: "juergen@example.com"}, {Address: "plain@example.com"}},
		Cc:      []mail.Address{{Name: "O'Brien (Ops)", Address: "ops@example.com"}},
		Bcc:     []mail.Address{{Address: "archive@example.com"}},
		Subject: "Neue Sprachnachricht für Jürgen – 0:42 Min. – Rückruf erbeten",
		Text:    "Hallo Jürgen,\nSie haben eine neue Nachricht.",
		Attachments: []mailqueue.Attachment{
			{Filename: "Aufnahme_Grüße.wav", Data: wav},
			{Filename: "Fax 2026-12-03.pdf", Data: pdf},
		},
		Header: []mailqueue.HeaderField{{Key: "Auto-Submitted", Value: "auto-generated"}, {Key: "X-UCX-Caller", Value: "Müller +49 30 1234"}},
	}
	raw, err := m.Build()
	require.NoError(t, err)
	require.NoError(t, mailqueue.CheckWireFormat(raw))
	s := string(raw)
	header := s[:strings.Index(s, "\r\n\r\n")]
	require.True(t, isASCIIString(header), "header must be 7-bit: %s", header)
	require.NotContains(t, s, "archive@example.com", "Bcc never appears in the message")
	require.Contains(t, header, "<zentrale@example.com>", "the address itself stays readable")
	require.True(t, strings.Contains(s, "filename*=utf-8''Aufnahme_Gr%C3%BC%C3%9Fe.wav"), "RFC 2231 file name")

	h, leaves, types := parseMessage(t, raw)
	require.Equal(t, []string{"multipart/mixed", "text/plain", "audio/wav", "application/pdf"}, types)
	dec := new(mime.WordDecoder)
	subj, err := dec.DecodeHeader(h.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, m.Subject, subj)
	from, err := (&mail.AddressParser{WordDecoder: dec}).Parse(h.Get("From"))
	require.NoError(t, err)
	require.Equal(t, "Zoë Müller, Zentrale", from.Name)
	require.Equal(t, "zentrale@example.com", from.Address)
	to, err := (&mail.AddressParser{WordDecoder: dec}).ParseList(h.Get("To"))
	require.NoError(t, err)
	require.Equal(t, "Jürgen Groß", to[0].Name)
	require.Equal(t, "plain@example.com", to[1].Address)
	cc, err := h.AddressList("Cc")
	require.NoError(t, err)
	require.Equal(t, "O'Brien (Ops)", cc[0].Name)
	caller, err := dec.DecodeHeader(h.Get("X-UCX-Caller"))
	require.NoError(t, err)
	require.Equal(t, "Müller +49 30 1234", caller)
	require.Equal(t, "auto-generated", h.Get("Auto-Submitted"))

	require.Equal(t, "Aufnahme_Grüße.wav", leaves[1].Filename)
	require.Equal(t, "attachment", leaves[1].Disposition)
	require.Equal(t, wav, leaves[1].Body)
	require.Equal(t, "Fax 2026-12-03.pdf", leaves[2].Filename)
	require.Equal(t, pdf, leaves[2].Body)

	env := m.Envelope()
	require.Equal(t, "zentrale@example.com", env.From)
	require.Equal(t, []string{"juergen@example.com", "plain@example.com", "ops@example.com", "archive@example.com"}, env.To)
}

func isASCIIString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func TestBuildInlineImages(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n....")
	m := &mailqueue.Message{
		From: mail.Address{Address: "vm@example.com"},
		To:   []mail.Address{{Address: "bob@example.com"}},
		Text: "see logo",
		HTML: `<img src="cid:logo@ucx">`,
		Attachments: []mailqueue.Attachment{
			{Filename: "logo.png", ContentID: "logo@ucx", Data: png},
			{Filename: "msg.wav", Data: []byte("RIFF")},
		},
	}
	raw, err := m.Build()
	require.NoError(t, err)
	_, leaves, types := parseMessage(t, raw)
	require.Equal(t, []string{"multipart/mixed", "multipart/alternative", "text/plain", "multipart/related", "text/html", "image/png", "audio/wav"}, types)
	require.Equal(t, "<logo@ucx>", leaves[2].ContentID)
	require.Equal(t, "inline", leaves[2].Disposition)
	require.Equal(t, png, leaves[2].Body)
}

func TestBuildSetsMessageIDAndDateOnce(t *testing.T) {
	m := &mailqueue.Message{From: mail.Address{Address: "vm@pbx.example.com"}, To: []mail.Address{{Address: "a@example.com"}}, Text: "x"}
	a, err := m.Build()
	require.NoError(t, err)
	require.NotEmpty(t, m.MessageID)
	require.True(t, strings.HasSuffix(m.MessageID, "@pbx.example.com"))
	require.False(t, m.Date.IsZero())
	time.Sleep(1100 * time.Millisecond)
	b, err := m.Build()
	require.NoError(t, err)
	ha, _, _ := parseMessage(t, a)
	hb, _, _ := parseMessage(t, b)
	require.Equal(t, ha.Get("Message-Id"), hb.Get("Message-Id"))
	require.Equal(t, ha.Get("Date"), hb.Get("Date"))
	id, err := ha.MessageID()
	require.NoError(t, err)
	require.Equal(t, m.MessageID, id)

	other := &mailqueue.Message{From: mail.Address{Address: "vm@pbx.example.com"}, To: []mail.Address{{Address: "a@example.com"}}, Text: "x"}
	_, err = other.Build()
	require.NoError(t, err)
	require.NotEqual(t, m.MessageID, other.MessageID)
}

func TestMessageValidation(t *testing.T) {
	m := &mailqueue.Message{
		From:        mail.Address{Address: "not an address"},
		Subject:     "a\r\nBcc: x@evil",
		ReplyTo:     []mail.Address{{Name: "\xff\xfe", Address: "r@example.com"}},
		Attachments: []mailqueue.Attachment{{Filename: "../etc/passwd"}, {Filename: strings.Repeat("a", 300)}, {ContentType: "bad/", Filename: "x"}},
		Header:      []mailqueue.HeaderField{{Key: "Content-Type", Value: "x"}, {Key: "Bad Key", Value: "v"}, {Key: "X-Ok", Value: "a\nb"}},
		MessageID:   "<x@y>",
	}
	_, err := m.Build()
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		`message.from: invalid address "not an address"`,
		"message.to: at least one recipient (to, cc or bcc) is required",
		"message.subject: must not contain CR, LF or NUL",
		"message.reply_to[0]: display name must be valid UTF-8",
		"message.attachments[0].filename: must be a valid UTF-8 name without path separators",
		"message.attachments[1].filename: must be at most 255 bytes, got 300",
		`message.attachments[2].content_type: invalid media type "bad/"`,
		"message.header[0].key: Content-Type is written by Build",
		`message.header[1].key: invalid header field name "Bad Key"`,
		"message.header[2].value: must not contain CR, LF or NUL",
		`message.message_id: must be id-left@id-right without angle brackets, got "<x@y>"`,
	} {
		require.Contains(t, msg, want)
	}
	var fe *mailqueue.FieldError
	require.ErrorAs(t, err, &fe)
}

func TestCheckWireFormat(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		err  error
	}{
		{"ok", "a\r\nb\r\n", nil},
		{"empty", "", nil},
		{"no final crlf", "a\r\nb", nil},
		{"bare lf", "a\nb\r\n", mailqueue.ErrBareLineBreak},
		{"bare cr", "a\rb\r\n", mailqueue.ErrBareLineBreak},
		{"trailing cr", "a\r", mailqueue.ErrBareLineBreak},
		{"998 ok", strings.Repeat("x", 998) + "\r\n", nil},
		{"999 too long", strings.Repeat("x", 999) + "\r\n", mailqueue.ErrLineTooLong},
		{"last line too long", "a\r\n" + strings.Repeat("x", 999), mailqueue.ErrLineTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := mailqueue.CheckWireFormat([]byte(tc.in))
			if tc.err == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tc.err)
			}
		})
	}
}

func FuzzBuild(f *testing.F) {
	f.Add("Zoë Müller, Zentrale", "Grüße – Test", "line\n.\n..x\r\nend", "<p>x</p>", "Aufnahme_Grüße.wav", []byte("RIFF"))
	f.Add("", "", "", "", "a.pdf", []byte{})
	f.Fuzz(func(t *testing.T, name, subject, text, html, filename string, data []byte) {
		m := &mailqueue.Message{
			From:        mail.Address{Name: name, Address: "vm@example.com"},
			To:          []mail.Address{{Name: name, Address: "bob@example.com"}},
			Subject:     subject,
			Text:        text,
			HTML:        html,
			Attachments: []mailqueue.Attachment{{Filename: filename, Data: data}},
		}
		raw, err := m.Build()
		if err != nil {
			return // refused input is fine; accepted input must be well-formed
		}
		if err := mailqueue.CheckWireFormat(raw); err != nil {
			t.Fatalf("Build produced bad wire format: %v", err)
		}
		h, leaves, _ := parseMessage(t, raw)
		dec := new(mime.WordDecoder)
		if got, err := dec.DecodeHeader(h.Get("Subject")); err != nil || got != strings.TrimSpace(subject) && got != subject {
			t.Fatalf("subject %q round-tripped to %q (%v)", subject, got, err)
		}
		last := leaves[len(leaves)-1]
		if !bytes.Equal(last.Body, data) {
			t.Fatalf("attachment body changed")
		}
		if filename != "" && last.Filename != filename {
			t.Fatalf("filename %q round-tripped to %q", filename, last.Filename)
		}
	})
}

func ExampleMessage_Build() {
	m := &mailqueue.Message{
		From:      mail.Address{Name: "Zoë Müller, Zentrale", Address: "zentrale@example.com"},
		To:        []mail.Address{{Address: "bob@example.com"}},
		Subject:   "Neue Sprachnachricht – 0:42",
		Text:      "Sie haben eine neue Nachricht.",
		MessageID: "1.abc@example.com",
		Date:      time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC),
		Attachments: []mailqueue.Attachment{
			{Filename: "Aufnahme_Grüße.wav", Data: []byte("RIFF....WAVE")},
		},
	}
	raw, err := m.Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	e, _ := message.Read(bytes.NewReader(raw))
	fmt.Println("From:", e.Header.Get("From"))
	fmt.Println("Subject:", e.Header.Get("Subject"))
	fmt.Println("Envelope:", m.Envelope().From, m.Envelope().To)
	// Output:
	// From: =?utf-8?b?Wm/DqyBNw7xsbGVyLCBaZW50cmFsZQ==?= <zentrale@example.com>
	// Subject: =?utf-8?q?Neue_Sprachnachricht_=E2=80=93_0:42?=
	// Envelope: zentrale@example.com [bob@example.com]
}
