package sysparams

import (
	"io"
	"net"
	"reflect"
	"strconv"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/proxycfg"
)

const testProxyPassword = "proxy-p@ss:w/o?r#d %é"

func setTestHTTPProxy(p *Params) {
	p.Proxy.HTTP = proxycfg.HTTPProxy{Address: "10.0.0.2", Port: 3128, Username: "u", Password: proxycfg.NewSecret(testProxyPassword)}
}

// sink is an in-process SMTP server on 127.0.0.1:0 that keeps what it
// receives.
type sink struct {
	Addr string
	mu   sync.Mutex
	msgs []sinkMsg
	srv  *smtp.Server
}

type sinkMsg struct {
	From string
	To   []string
	Data []byte
}

func newSink(t *testing.T) *sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &sink{Addr: ln.Addr().String()}
	s.srv = smtp.NewServer(s)
	s.srv.Domain = "sink.test"
	go s.srv.Serve(ln)
	t.Cleanup(func() { s.srv.Close() })
	return s
}

func (s *sink) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr)
	n, _ := strconv.Atoi(p)
	return n
}

func (s *sink) Messages() []sinkMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sinkMsg(nil), s.msgs...)
}

func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }

type sinkSession struct {
	s   *sink
	cur sinkMsg
}

func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error { ss.cur.From = from; return nil }
func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.cur.To = append(ss.cur.To, to)
	return nil
}
func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.cur.Data = b
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, ss.cur)
	ss.s.mu.Unlock()
	ss.cur = sinkMsg{}
	return nil
}
func (ss *sinkSession) Reset()        { ss.cur = sinkMsg{} }
func (ss *sinkSession) Logout() error { return nil }

// sinkParams returns valid parameters whose email goes to the sink in clear
// without authentication.
func sinkParams(s *sink) *Params {
	p := validParams()
	p.Email.Server = "127.0.0.1"
	p.Email.Port = s.Port()
	p.Email.Security = SecurityNone
	p.Email.UseAuth = false
	p.Email.Username, p.Email.Password = "", NewSecret("")
	return p
}

func reflectValue(p *Params) reflect.Value { return reflect.ValueOf(p).Elem() }
