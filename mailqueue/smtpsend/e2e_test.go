package smtpsend_test

import (
	"bytes"
	"context"
	"io"
	"mime"
	"net/mail"
	"strings"
	"testing"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/mailqueue"
	"github.com/ucxkit/ucxkit/mailqueue/smtpsend"
)

// TestBuiltMessageSurvivesSMTP sends builder output with hostile content
// through STARTTLS to a real go-smtp server and checks that the received
// bytes are the built bytes and decode to the original content.
func TestBuiltMessageSurvivesSMTP(t *testing.T) {
	text := "Bare LF from a template\nsecond line\r\n.\n.hidden\n..double\n.\r\nend"
	html := "<p>" + strings.Repeat("x", 20000) + "</p>\n.\n"
	wav := bytes.Repeat([]byte("\r\n.\r\n\x00\xff"), 4000)
	m := &mailqueue.Message{
		From:        mail.Address{Name: "Zoë Müller, Zentrale", Address: "zentrale@example.com"},
		To:          []mail.Address{{Address: "bob@example.com"}},
		Bcc:         []mail.Address{{Address: "archive@example.com"}},
		Subject:     "Grüße – Sprachnachricht",
		Text:        text,
		HTML:        html,
		Attachments: []mailqueue.Attachment{{Filename: "Aufnahme_Grüße.wav", Data: wav}},
	}
	raw, err := m.Build()
	require.NoError(t, err)

	be := &backend{authOK: func(string, string, string) error { return nil }}
	port := startServer(t, be, withTLS(t))
	cfg := baseConfig(t, port)
	cfg.Username, cfg.Password = "u", smtpsend.NewSecret("p")
	s := newSender(t, cfg)
	require.NoError(t, s.Send(context.Background(), m.Envelope(), raw))

	msgs := be.messages()
	require.Len(t, msgs, 1)
	got := msgs[0].Data
	require.True(t, bytes.Equal(raw, got), "received bytes differ from the built bytes")
	require.Equal(t, []string{"bob@example.com", "archive@example.com"}, msgs[0].To)
	require.NoError(t, mailqueue.CheckWireFormat(got))
	for i, line := range bytes.Split(got, []byte("\r\n")) {
		require.LessOrEqual(t, len(line), 998, "line %d", i)
	}

	e, err := message.Read(bytes.NewReader(got))
	require.NoError(t, err)
	dec := new(mime.WordDecoder)
	subj, err := dec.DecodeHeader(e.Header.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, m.Subject, subj)
	from, err := (&mail.AddressParser{WordDecoder: dec}).Parse(e.Header.Get("From"))
	require.NoError(t, err)
	require.Equal(t, "Zoë Müller, Zentrale", from.Name)

	var bodies [][]byte
	var names []string
	require.NoError(t, e.Walk(func(_ []int, ent *message.Entity, err error) error {
		if err != nil {
			return err
		}
		if mt, _, _ := ent.Header.ContentType(); strings.HasPrefix(mt, "multipart/") {
			return nil
		}
		b, err := io.ReadAll(ent.Body)
		if err != nil {
			return err
		}
		fn, _ := (&gomail.AttachmentHeader{Header: ent.Header}).Filename()
		bodies, names = append(bodies, b), append(names, fn)
		return nil
	}))
	require.Len(t, bodies, 3)
	crlf := func(s string) string {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		return strings.ReplaceAll(s, "\n", "\r\n")
	}
	require.Equal(t, crlf(text), string(bodies[0]))
	require.Equal(t, crlf(html), string(bodies[1]))
	require.True(t, bytes.Equal(wav, bodies[2]), "attachment bytes changed")
	require.Equal(t, "Aufnahme_Grüße.wav", names[2])
}
