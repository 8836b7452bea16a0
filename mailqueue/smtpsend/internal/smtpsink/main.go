// Command smtpsink is the relay target of the Postfix integration suite
// (.ci/integration/postfix.sh): a go-smtp server on loopback that accepts
// every message and stores it as <dir>/<n>.eml (written to a temp file and
// renamed, so a reader never sees a partial file). The first line of each
// file is "X-Sink-Envelope: <from> -> <to,...>".
//
//	smtpsink -addr 127.0.0.1:0 -dir DIR -ready FILE
//
// The listening address is written to FILE once the server accepts
// connections.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"
)

type backend struct {
	dir string
	n   atomic.Int64
}

func (b *backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{b: b}, nil }

type session struct {
	b    *backend
	from string
	to   []string
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "X-Sink-Envelope: %s -> %s\r\n", s.from, strings.Join(s.to, ","))
	if _, err := io.Copy(&buf, r); err != nil {
		return err
	}
	n := s.b.n.Add(1)
	tmp := filepath.Join(s.b.dir, fmt.Sprintf(".%d.tmp", n))
	if err := os.WriteFile(tmp, buf.Bytes(), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(s.b.dir, fmt.Sprintf("%d.eml", n)))
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	dir := flag.String("dir", "", "folder for received messages (required)")
	ready := flag.String("ready", "", "file that receives the listening address")
	flag.Parse()
	if *dir == "" {
		log.Fatal("smtpsink: -dir is required")
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		log.Fatal(err)
	}
	srv := smtp.NewServer(&backend{dir: *dir})
	srv.Domain = "sink.localhost"
	srv.MaxMessageBytes = 64 << 20
	srv.MaxRecipients = 1000
	srv.ReadTimeout = 5 * time.Minute
	srv.WriteTimeout = time.Minute
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if *ready != "" {
		if err := os.WriteFile(*ready, []byte(ln.Addr().String()), 0o600); err != nil {
			log.Fatal(err)
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-sig
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && err != smtp.ErrServerClosed {
		log.Fatal(err)
	}
}
