package smtpsend

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

// readerConn is a net.Conn whose reads come from r.
type readerConn struct {
	net.Conn
	r io.Reader
}

func (c readerConn) Read(b []byte) (int, error) { return c.r.Read(b) }

func TestReplyLimitConn(t *testing.T) {
	valid := "220 hi\r\n250-a\r\n250-b\r\n250 c\r\n250\r\n354 go\r\n" + strings.Repeat("250-x\r\n", maxReplyLines-1) + "250 last\r\n"
	for _, tc := range []struct {
		name, in string
		bad      bool
	}{
		{"valid replies pass unchanged", valid, false},
		{"too many lines", strings.Repeat("250-x\r\n", maxReplyLines) + "250 y\r\n", true},
		{"code changes", "250-ok\r\n550 no\r\n", true},
		{"continuation without separator", "250-ok\r\n250x\r\n", true},
		{"bare code in a multi-line reply", "250-ok\r\n250\r\n", true},
		{"short line in a multi-line reply", "250-ok\r\n25\r\n", true},
		{"bare LF endings", "250-a\n250 b\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// One byte per read, so that every state change is seen at a
			// read boundary too.
			c := &replyLimitConn{Conn: readerConn{r: iotest.OneByteReader(strings.NewReader(tc.in))}}
			got, err := io.ReadAll(c)
			if tc.bad {
				require.ErrorIs(t, err, errBadReply)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.in, string(got))
		})
	}
}

func FuzzReplyLimitConn(f *testing.F) {
	f.Add([]byte("250-a\r\n250 b\r\n"))
	f.Add([]byte("250-ok\r\n550 no\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		c := &replyLimitConn{Conn: readerConn{r: bytes.NewReader(in)}}
		got, err := io.ReadAll(c)
		if err != nil && !errors.Is(err, errBadReply) {
			t.Fatalf("unexpected error %v", err)
		}
		if err == nil && !bytes.Equal(got, in) {
			t.Fatalf("data changed")
		}
		long := bytes.Repeat([]byte("250-x\r\n"), maxReplyLines+1)
		if err == nil && (bytes.HasPrefix(in, long) || bytes.Contains(in, append([]byte("\n"), long...))) {
			t.Fatalf("accepted a reply of more than %d lines", maxReplyLines)
		}
	})
}
