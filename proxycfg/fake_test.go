package proxycfg

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// script is a fake proxy for one connection: it reads exactly len(expect)
// bytes (reporting them on got), then writes reply, then holds the
// connection open until the test ends (or closes it when closeAfter).
type script struct {
	addr string
	got  chan []byte
	conn chan net.Conn
}

// fakeProxy serves one scripted exchange per step: each step reads n bytes
// and answers reply.
type step struct {
	n     int
	reply []byte
}

func fakeProxy(t *testing.T, steps ...step) *script {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &script{addr: ln.Addr().String(), got: make(chan []byte, len(steps)+1), conn: make(chan net.Conn, 1)}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); close(done) })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		for _, st := range steps {
			buf := make([]byte, st.n)
			if _, err := io.ReadFull(c, buf); err != nil {
				s.got <- nil
				return
			}
			s.got <- buf
			if len(st.reply) > 0 {
				if _, err := c.Write(st.reply); err != nil {
					return
				}
			}
		}
		s.conn <- c
		<-done
	}()
	return s
}

// next returns the bytes read by the next step.
func (s *script) next(t *testing.T) []byte {
	t.Helper()
	select {
	case b := <-s.got:
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("fake proxy read nothing")
		return nil
	}
}

// peer returns the proxy side of the tunnel after the script ran.
func (s *script) peer(t *testing.T) net.Conn {
	t.Helper()
	select {
	case c := <-s.conn:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("fake proxy did not finish its script")
		return nil
	}
}

// silentProxy accepts connections and never answers; it returns how many
// bytes it was sent before the client gave up.
func silentProxy(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
