// Package proxytest runs small in-process proxies on 127.0.0.1 for tests:
// an HTTP proxy (CONNECT tunnels and absolute-form requests, Basic
// authentication), a SOCKS4/4a proxy and a SOCKS5 proxy (RFC 1928, with
// RFC 1929 username/password). They are real enough to carry SMTP or HTTPS
// traffic and count what they carried; they are not meant for production.
package proxytest

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kind selects the protocol a Server speaks.
type Kind int

// The protocols a Server can speak.
const (
	HTTP   Kind = iota // HTTP proxy: CONNECT and absolute-form requests
	SOCKS4             // SOCKS4 and SOCKS4a
	SOCKS5             // SOCKS5 (RFC 1928) with optional RFC 1929 auth
)

// String returns the URL scheme of the kind (http, socks4a, socks5h).
func (k Kind) String() string {
	switch k {
	case SOCKS4:
		return "socks4a"
	case SOCKS5:
		return "socks5h"
	}
	return "http"
}

// Options configure a Server. The zero value is an open proxy.
type Options struct {
	// Username and Password, when Username is set, are required from
	// clients (HTTP: Basic Proxy-Authorization; SOCKS5: RFC 1929; SOCKS4:
	// the user-id must equal Username, Password is ignored).
	Username string
	Password string
	// Dial reaches targets; nil means a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Server is a running proxy. Close stops it and every tunnel it carries.
type Server struct {
	// Addr is the "127.0.0.1:port" the proxy listens on.
	Addr string
	// Kind is the protocol spoken.
	Kind Kind

	opts Options
	ln   net.Listener
	hs   *http.Server // HTTP kind only
	wg   sync.WaitGroup

	mu      sync.Mutex // guards targets, conns, closed
	targets []string
	conns   map[net.Conn]struct{}
	closed  bool
}

// NewServer starts a proxy of kind on 127.0.0.1 with a free port.
func NewServer(kind Kind, opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if opts.Dial == nil {
		opts.Dial = (&net.Dialer{Timeout: 10 * time.Second}).DialContext
	}
	s := &Server{Addr: ln.Addr().String(), Kind: kind, opts: opts, ln: ln, conns: map[net.Conn]struct{}{}}
	switch kind {
	case HTTP:
		s.hs = &http.Server{Handler: http.HandlerFunc(s.serveHTTP), ReadHeaderTimeout: 10 * time.Second}
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.hs.Serve(ln) }()
	case SOCKS4, SOCKS5:
		s.wg.Add(1)
		go s.acceptLoop()
	default:
		ln.Close()
		return nil, fmt.Errorf("proxytest: unknown kind %d", kind)
	}
	return s, nil
}

// URL returns the proxy URL with percent-encoded credentials, e.g.
// "socks5h://alice:s3cr3t@127.0.0.1:40000".
func (s *Server) URL() string {
	u := url.URL{Scheme: s.Kind.String(), Host: s.Addr}
	if s.opts.Username != "" {
		if s.Kind == SOCKS4 {
			u.User = url.User(s.opts.Username)
		} else {
			u.User = url.UserPassword(s.opts.Username, s.opts.Password)
		}
	}
	return u.String()
}

// Targets returns the targets the proxy connected to (or forwarded to), in
// order.
func (s *Server) Targets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.targets...)
}

// Close stops the proxy, closes open tunnels and waits for its goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	var err error
	if s.hs != nil {
		err = s.hs.Close()
	} else {
		err = s.ln.Close()
	}
	s.wg.Wait()
	return err
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

func (s *Server) record(target string) {
	s.mu.Lock()
	s.targets = append(s.targets, target)
	s.mu.Unlock()
}

// splice copies both ways until both directions end, half-closing each side
// when the other finishes sending.
func splice(a, b net.Conn, aPending []byte) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if len(aPending) > 0 {
			b.Write(aPending)
		}
		io.Copy(b, a)
		closeWrite(b)
	}()
	io.Copy(a, b)
	closeWrite(a)
	wg.Wait()
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		return
	}
	c.Close()
}

func (s *Server) checkBasic(h http.Header) bool {
	if s.opts.Username == "" {
		return true
	}
	v := h.Get("Proxy-Authorization")
	scheme, cred, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(cred)
	return err == nil && string(b) == s.opts.Username+":"+s.opts.Password
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.checkBasic(r.Header) {
		w.Header().Set("Proxy-Authenticate", `Basic realm="proxytest"`)
		http.Error(w, "proxy authentication required", http.StatusProxyAuthRequired)
		return
	}
	if r.Method != http.MethodConnect {
		s.forward(w, r)
		return
	}
	target := r.Host
	s.record(target)
	up, err := s.opts.Dial(r.Context(), "tcp", target)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		up.Close()
		http.Error(w, "no hijack", http.StatusInternalServerError)
		return
	}
	c, brw, err := hj.Hijack()
	if err != nil {
		up.Close()
		return
	}
	if !s.track(c) {
		up.Close()
		return
	}
	defer s.untrack(c)
	if !s.track(up) {
		return
	}
	defer s.untrack(up)
	if _, err := c.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		return
	}
	var pending []byte
	if n := brw.Reader.Buffered(); n > 0 {
		pending, _ = brw.Reader.Peek(n)
		pending = append([]byte(nil), pending...)
	}
	splice(c, up, pending)
}

// forward relays an absolute-form request (http:// targets).
func (s *Server) forward(w http.ResponseWriter, r *http.Request) {
	if !r.URL.IsAbs() {
		http.Error(w, "proxytest: not a proxy request", http.StatusBadRequest)
		return
	}
	s.record(r.URL.Host)
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.Header.Del("Proxy-Authorization")
	out.Header.Del("Proxy-Connection")
	tr := &http.Transport{DialContext: s.opts.Dial}
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		if !s.track(c) {
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			if s.Kind == SOCKS4 {
				s.serveSOCKS4(c)
			} else {
				s.serveSOCKS5(c)
			}
		}()
	}
}

func (s *Server) connectUpstream(target string) (net.Conn, error) {
	s.record(target)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	up, err := s.opts.Dial(ctx, "tcp", target)
	if err != nil {
		return nil, err
	}
	if !s.track(up) {
		return nil, errors.New("closed")
	}
	return up, nil
}

func (s *Server) serveSOCKS4(c net.Conn) {
	br := bufio.NewReader(c)
	var hdr [8]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil || hdr[0] != 4 || hdr[1] != 1 {
		return
	}
	user, err := br.ReadString(0)
	if err != nil {
		return
	}
	user = strings.TrimSuffix(user, "\x00")
	port := int(hdr[2])<<8 | int(hdr[3])
	host := net.IP(hdr[4:8]).String()
	if hdr[4] == 0 && hdr[5] == 0 && hdr[6] == 0 && hdr[7] != 0 {
		name, err := br.ReadString(0)
		if err != nil {
			return
		}
		host = strings.TrimSuffix(name, "\x00")
	}
	reply := []byte{0, 0x5a, 0, 0, 0, 0, 0, 0}
	if s.opts.Username != "" && user != s.opts.Username {
		reply[1] = 0x5d
		c.Write(reply)
		return
	}
	up, err := s.connectUpstream(net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		reply[1] = 0x5b
		c.Write(reply)
		return
	}
	defer s.untrack(up)
	if _, err := c.Write(reply); err != nil {
		return
	}
	splice(c, up, nil)
}

func (s *Server) serveSOCKS5(c net.Conn) {
	var buf [512]byte
	if _, err := io.ReadFull(c, buf[:2]); err != nil || buf[0] != 5 {
		return
	}
	methods := buf[2 : 2+int(buf[1])]
	if _, err := io.ReadFull(c, methods); err != nil {
		return
	}
	want := byte(0)
	if s.opts.Username != "" {
		want = 2
	}
	found := false
	for _, m := range methods {
		found = found || m == want
	}
	if !found {
		c.Write([]byte{5, 0xff})
		return
	}
	if _, err := c.Write([]byte{5, want}); err != nil {
		return
	}
	if want == 2 {
		if _, err := io.ReadFull(c, buf[:2]); err != nil || buf[0] != 1 {
			return
		}
		u := make([]byte, buf[1])
		if _, err := io.ReadFull(c, u); err != nil {
			return
		}
		if _, err := io.ReadFull(c, buf[:1]); err != nil {
			return
		}
		p := make([]byte, buf[0])
		if _, err := io.ReadFull(c, p); err != nil {
			return
		}
		if string(u) != s.opts.Username || string(p) != s.opts.Password {
			c.Write([]byte{1, 1})
			return
		}
		if _, err := c.Write([]byte{1, 0}); err != nil {
			return
		}
	}
	if _, err := io.ReadFull(c, buf[:4]); err != nil || buf[0] != 5 {
		return
	}
	reply := []byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0}
	if buf[1] != 1 {
		reply[1] = 7
		c.Write(reply)
		return
	}
	var host string
	switch buf[3] {
	case 1:
		if _, err := io.ReadFull(c, buf[:4]); err != nil {
			return
		}
		host = net.IP(buf[:4]).String()
	case 4:
		if _, err := io.ReadFull(c, buf[:16]); err != nil {
			return
		}
		host = net.IP(buf[:16]).String()
	case 3:
		if _, err := io.ReadFull(c, buf[:1]); err != nil {
			return
		}
		n := int(buf[0])
		if _, err := io.ReadFull(c, buf[:n]); err != nil {
			return
		}
		host = string(buf[:n])
	default:
		reply[1] = 8
		c.Write(reply)
		return
	}
	if _, err := io.ReadFull(c, buf[:2]); err != nil {
		return
	}
	port := int(buf[0])<<8 | int(buf[1])
	up, err := s.connectUpstream(net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		reply[1] = 5
		c.Write(reply)
		return
	}
	defer s.untrack(up)
	if _, err := c.Write(reply); err != nil {
		return
	}
	splice(c, up, nil)
}
