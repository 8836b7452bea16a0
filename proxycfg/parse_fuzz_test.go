package proxycfg

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// scriptedConn is a net.Conn whose peer's bytes are fixed in advance; writes
// are discarded.
type scriptedConn struct {
	r *bytes.Reader
}

func (c *scriptedConn) Read(p []byte) (int, error)         { return c.r.Read(p) }
func (c *scriptedConn) Write(p []byte) (int, error)        { return len(p), nil }
func (c *scriptedConn) Close() error                       { return nil }
func (c *scriptedConn) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (c *scriptedConn) RemoteAddr() net.Addr               { return &net.TCPAddr{} }
func (c *scriptedConn) SetDeadline(t time.Time) error      { return nil }
func (c *scriptedConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *scriptedConn) SetWriteDeadline(t time.Time) error { return nil }

// FuzzConnectResponse feeds arbitrary proxy answers to the CONNECT parser:
// it must never panic, accept only 2xx, keep every byte after the header,
// and cap error bodies at 4 KiB.
func FuzzConnectResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 Connection established\r\n\r\n220 ready\r\n"))
	f.Add([]byte("HTTP/1.0 407 Proxy Authentication Required\r\nProxy-Authenticate: NTLM, Basic realm=\"x\"\r\nContent-Length: 3\r\n\r\nabc"))
	f.Add([]byte("HTTP/1.1 502 Bad Gateway\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"))
	f.Add([]byte("\x05\x00"))
	f.Fuzz(func(t *testing.T, answer []byte) {
		d := &ConnectDialer{ProxyAddr: "proxy:3128", Username: "u", Password: NewSecret("p")}
		c, err := d.handshake(context.Background(), &scriptedConn{r: bytes.NewReader(answer)}, "h:1")
		if err == nil {
			rest, _ := io.ReadAll(c)
			if !bytes.HasSuffix(answer, rest) {
				t.Fatalf("tunnel bytes %q are not the end of the answer", rest)
			}
			return
		}
		var ce *ConnectError
		if errors.As(err, &ce) {
			if ce.StatusCode >= 200 && ce.StatusCode <= 299 {
				t.Fatalf("2xx refused: %v", err)
			}
			if len(ce.Body) > maxErrorBody {
				t.Fatalf("body of %d bytes kept", len(ce.Body))
			}
		}
	})
}

// FuzzSOCKS5Reply feeds arbitrary server bytes to the SOCKS5 handshake.
func FuzzSOCKS5Reply(f *testing.F) {
	f.Add([]byte{5, 2, 1, 0, 5, 0, 0, 1, 1, 2, 3, 4, 0, 25}, true)
	f.Add([]byte{5, 0, 5, 0, 0, 3, 4, 'h', 'o', 's', 't', 0, 25}, false)
	f.Add([]byte{5, 0, 5, 4, 0, 1, 0, 0, 0, 0, 0, 0}, false)
	f.Add([]byte{5, 0xff}, true)
	f.Fuzz(func(t *testing.T, answer []byte, auth bool) {
		d := &SOCKS5Dialer{ProxyAddr: "proxy:1080"}
		if auth {
			d.Username, d.Password = "alice", NewSecret("s3cr3t")
		}
		err := d.handshake(&scriptedConn{r: bytes.NewReader(answer)}, []byte{5, 1, 0, 1, 127, 0, 0, 1, 0, 25}, d.Password.Reveal(), "h:25")
		if err != nil && bytes.Contains([]byte(err.Error()), []byte("s3cr3t")) {
			t.Fatalf("error reveals the password: %v", err)
		}
	})
}
