package smtpsend

import (
	"bufio"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/mailqueue"
)

func TestReadReply(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		code     int
		lines    []string
		err      bool
	}{
		{"single", "220 mail.test ESMTP\r\n", 220, []string{"mail.test ESMTP"}, false},
		{"multi", "250-mail.test\r\n250-SIZE 10\r\n250 STARTTLS\r\n", 250, []string{"mail.test", "SIZE 10", "STARTTLS"}, false},
		{"bare code", "250\r\n", 250, []string{""}, false},
		{"lf only", "220 ok\n", 220, []string{"ok"}, false},
		{"mixed codes", "250-a\r\n251 b\r\n", 0, nil, true},
		{"garbage", "hello\r\n", 0, nil, true},
		{"bad separator", "250xa\r\n", 0, nil, true},
		{"truncated", "250-a\r\n", 0, nil, true},
		{"too long", "250 " + strings.Repeat("x", 3000) + "\r\n", 0, nil, true},
		{"code out of range", "999 x\r\n", 0, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := readReply(bufio.NewReader(strings.NewReader(tc.in)), nil)
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.code, r.code)
			require.Equal(t, tc.lines, r.lines)
		})
	}
}

func FuzzReadReply(f *testing.F) {
	f.Add("220 mail.test ESMTP\r\n")
	f.Add("250-mail.test\r\n250-AUTH PLAIN\r\n250 STARTTLS\r\n")
	f.Add("421 4.4.2 bye\r\n")
	f.Add("250-\r\n250 \r\n")
	f.Fuzz(func(t *testing.T, in string) {
		r, err := readReply(bufio.NewReader(strings.NewReader(in)), nil)
		if err != nil {
			return
		}
		if r.code < 200 || r.code > 599 || len(r.lines) == 0 || len(r.lines) > maxReplyLines {
			t.Fatalf("bad reply %+v from %q", r, in)
		}
		if !strings.HasPrefix(in, r.raw) {
			t.Fatalf("raw %q is not a prefix of %q", r.raw, in)
		}
	})
}

func TestClassifyIO(t *testing.T) {
	dns := &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "mail.invalid", IsNotFound: true}}
	de := classifyIO(StepDial, dns)
	require.Equal(t, StepDNS, de.Step)
	require.Equal(t, mailqueue.ClassTransport, de.Class)
	require.True(t, errors.Is(de, dns.Err))

	require.Equal(t, mailqueue.ClassAmbiguous, classifyIO(StepFinal, errors.New("reset")).Class)
	require.Equal(t, mailqueue.ClassTemporary, classifyIO(StepData, errors.New("reset")).Class)
	require.Equal(t, mailqueue.ClassTransport, classifyIO(StepGreeting, errors.New("timeout")).Class)
	require.Contains(t, classifyIO(StepTLS, errors.New("handshake failure")).Hint, "465")
}

func TestChooseMechanism(t *testing.T) {
	m, err := chooseMechanism("", []string{"LOGIN", "PLAIN"})
	require.NoError(t, err)
	require.Equal(t, "PLAIN", m)
	m, err = chooseMechanism("", []string{"cram-md5"})
	require.NoError(t, err)
	require.Equal(t, "CRAM-MD5", m)
	_, err = chooseMechanism("", []string{"GSSAPI", "NTLM"})
	require.Error(t, err)
	_, err = chooseMechanism("XOAUTH2", []string{"PLAIN"})
	require.Error(t, err)
}
