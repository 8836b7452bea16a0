package smtpsend_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net/mail"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ucxkit/ucxkit/mailqueue"
	"github.com/ucxkit/ucxkit/mailqueue/smtpsend"
)

// benchMessage is a 4 KiB notification, the size the issue measures with.
func benchMessage(b *testing.B) []byte {
	m := &mailqueue.Message{
		From:    mail.Address{Name: "Voicemail", Address: "vm@example.com"},
		To:      []mail.Address{{Address: "bob@example.com"}},
		Subject: "New voicemail",
		Text:    string(bytes.Repeat([]byte("You have a new voicemail message. "), 90)),
	}
	raw, err := m.Build()
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// BenchmarkSendVsDialPerMessage delivers b.N 4 KiB messages over STARTTLS
// to an in-process go-smtp server twice in the same run: with one
// smtpsend.Sender (kept connection, NOOP check between messages) and with
// the baseline a go-smtp user writes (DialStartTLS + SendMail + Quit per
// message). It reports both rates and their ratio.
func BenchmarkSendVsDialPerMessage(b *testing.B) {
	be := &backend{}
	port := startServer(b, be, withTLS(b))
	msg := benchMessage(b)
	e := env()
	n := b.N
	if n < 50 {
		n = 50
	}
	cfg := baseConfig(b, port)
	s, err := smtpsend.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()

	b.ResetTimer()
	start := time.Now()
	for i := 0; i < n; i++ {
		if err := s.Send(ctx, e, msg); err != nil {
			b.Fatal(err)
		}
	}
	kept := float64(n) / time.Since(start).Seconds()

	addr := fmt.Sprintf("127.0.0.1:%d", port)
	tlsCfg := &tls.Config{RootCAs: certs(b).pool, ServerName: "127.0.0.1"}
	start = time.Now()
	for i := 0; i < n; i++ {
		c, err := smtp.DialStartTLS(addr, tlsCfg)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.SendMail(e.From, e.To, bytes.NewReader(msg)); err != nil {
			b.Fatal(err)
		}
		_ = c.Quit()
	}
	dial := float64(n) / time.Since(start).Seconds()
	b.StopTimer()

	b.ReportMetric(kept, "kept_msgs/s")
	b.ReportMetric(dial, "dial_per_msg_msgs/s")
	b.ReportMetric(kept/dial, "ratio")
	if got := len(be.messages()); got != 2*n {
		b.Fatalf("server received %d messages, want %d", got, 2*n)
	}
}

// BenchmarkBuild composes a voicemail notification with a 1 MB .wav and an
// HTML body.
func BenchmarkBuild(b *testing.B) {
	wav := bytes.Repeat([]byte{0x52, 0x49, 0x46, 0x46, 0x00, 0xff, 0x0d, 0x0a}, 1<<17)
	b.SetBytes(int64(len(wav)))
	for i := 0; i < b.N; i++ {
		m := &mailqueue.Message{
			From:        mail.Address{Name: "Zoë Müller, Zentrale", Address: "vm@example.com"},
			To:          []mail.Address{{Address: "bob@example.com"}},
			Subject:     "Neue Sprachnachricht – 0:42",
			Text:        "Sie haben eine neue Nachricht.",
			HTML:        "<p>Sie haben eine neue Nachricht.</p>",
			Attachments: []mailqueue.Attachment{{Filename: "Aufnahme_Grüße.wav", Data: wav}},
		}
		if _, err := m.Build(); err != nil {
			b.Fatal(err)
		}
	}
}
