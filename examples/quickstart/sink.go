package main

import (
	"io"
	"net"
	"sync"

	"github.com/emersion/go-smtp"
)

// sink is the in-process SMTP server the notification is delivered to
// when no -smtp is given: go-smtp on 127.0.0.1 with a free port, keeping
// what it receives.
type sink struct {
	addr string
	srv  *smtp.Server
	got  chan received
}

type received struct {
	from string
	to   []string
	data []byte
}

func startSink() (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{addr: ln.Addr().String(), got: make(chan received, 16)}
	s.srv = smtp.NewServer(s)
	s.srv.Domain = "sink.quickstart.local"
	s.srv.MaxMessageBytes = 10 << 20
	go s.srv.Serve(ln)
	return s, nil
}

func (s *sink) close() { s.srv.Close() }

// NewSession implements smtp.Backend.
func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }

type sinkSession struct {
	s   *sink
	mu  sync.Mutex
	cur received
}

func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.cur.from = from
	return nil
}

func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.cur.to = append(ss.cur.to, to)
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.cur.data = b
	select {
	case ss.s.got <- ss.cur:
	default:
	}
	ss.cur = received{}
	return nil
}

func (ss *sinkSession) Reset()        { ss.cur = received{} }
func (ss *sinkSession) Logout() error { return nil }
