package smtpsend_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ucxkit/ucxkit/mailqueue"
	"github.com/ucxkit/ucxkit/mailqueue/smtpsend"
)

// sinkBackend accepts every message and counts them.
type sinkBackend struct{ n int }

func (b *sinkBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{b}, nil }

type sinkSession struct{ b *sinkBackend }

func (s *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *sinkSession) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	s.b.n++
	return err
}
func (s *sinkSession) Reset()        {}
func (s *sinkSession) Logout() error { return nil }

func Example() {
	// An in-process relay standing in for the company's mail server.
	be := &sinkBackend{}
	srv := smtp.NewServer(be)
	srv.Domain = "relay.example.com"
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	defer srv.Close()

	sender, err := smtpsend.New(smtpsend.Config{
		Host: "127.0.0.1",
		Port: ln.Addr().(*net.TCPAddr).Port,
		// auto: STARTTLS when offered; this relay offers none and no
		// credentials are set, so the session continues in clear.
		Security: smtpsend.SecurityAuto,
		From:     "voicemail@example.com",
		Timeouts: smtpsend.Timeouts{Greeting: 10 * time.Second},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sender.Close()

	rep, err := sender.TestConnection(context.Background())
	fmt.Println("test connection ok:", err == nil, "security:", rep.Security)

	m := &mailqueue.Message{
		From:    mail.Address{Name: "Voicemail", Address: "voicemail@example.com"},
		To:      []mail.Address{{Name: "Bob", Address: "bob@example.com"}},
		Subject: "New voicemail from +41 91 123 45 67",
		Text:    "You have a new message (0:42).",
		Attachments: []mailqueue.Attachment{
			{Filename: "message.wav", Data: []byte("RIFF....WAVEfmt ")},
		},
	}
	raw, _ := m.Build()
	for i := 0; i < 3; i++ {
		if err := sender.Send(context.Background(), m.Envelope(), raw); err != nil {
			var de *mailqueue.DeliveryError
			if errors.As(err, &de) {
				fmt.Println("failed:", de.Class, de.Step, de.Hint)
			}
			return
		}
	}
	fmt.Println("delivered:", be.n)
	// Output:
	// test connection ok: true security: none
	// delivered: 3
}
