package mailqueue

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParsePickup(t *testing.T) {
	cases := []struct {
		name     string
		raw      string
		wantEnv  Envelope
		wantErr  string
		has      []string
		hasNot   []string
		keepsMID bool
	}{
		{
			name:    "IIS X-Sender/X-Receiver",
			raw:     "x-sender: <fax@example.com>\r\nx-receiver: a@example.com\r\nX-Receiver: b@example.com\r\nFrom: Fax <fax@example.com>\r\nTo: c@example.com\r\nSubject: fax\r\n\r\nbody\r\n",
			wantEnv: Envelope{From: "fax@example.com", To: []string{"a@example.com", "b@example.com"}},
			has:     []string{"From: Fax <fax@example.com>\r\n", "To: c@example.com\r\n", "\r\n\r\nbody\r\n"},
			hasNot:  []string{"x-sender", "x-receiver", "X-Receiver"},
		},
		{
			name:    "headers, Bcc stripped, LF endings",
			raw:     "From: =?utf-8?q?Zo=C3=AB_M=C3=BCller?= <zoe@example.com>\nTo: A <a@example.com>, b@example.com\nCc: c@example.com\nBcc: secret@example.com\nSubject: hi\n\nline1\nline2\n",
			wantEnv: Envelope{From: "zoe@example.com", To: []string{"a@example.com", "b@example.com", "c@example.com", "secret@example.com"}},
			has:     []string{"Cc: c@example.com\r\n", "\r\n\r\nline1\r\nline2\r\n", "Date: ", "Message-ID: <"},
			hasNot:  []string{"Bcc", "secret@example.com"},
		},
		{
			name:     "keeps Date and Message-ID, folded To",
			raw:      "From: a@example.com\r\nTo: b@example.com,\r\n c@example.com\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\nMessage-ID: <x@y>\r\n\r\n",
			wantEnv:  Envelope{From: "a@example.com", To: []string{"b@example.com", "c@example.com"}},
			has:      []string{"Message-ID: <x@y>\r\n", "Date: Thu, 03 Dec 2026 10:00:00 +0000\r\n"},
			keepsMID: true,
		},
		{name: "no recipients", raw: "From: a@example.com\r\nSubject: x\r\n\r\nbody", wantErr: "envelope.to"},
		{name: "no sender", raw: "To: a@example.com\r\n\r\nbody", wantErr: "no sender"},
		{name: "not a message", raw: "hello world\r\n", wantErr: "malformed header line"},
		{name: "empty", raw: "", wantErr: "no header fields"},
		{name: "bad address", raw: "From: a@example.com\r\nTo: <<<\r\n\r\n", wantErr: "recipients"},
		{name: "injection in X-Receiver", raw: "X-Sender: a@b\r\nX-Receiver: c@d>\r\n\r\n", wantEnv: Envelope{From: "a@b", To: []string{"c@d"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env, msg, err := ParsePickup([]byte(tc.raw), t0, "host.example")
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrPickup)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantEnv, env)
			for _, h := range tc.has {
				assert.Contains(t, string(msg), h)
			}
			for _, h := range tc.hasNot {
				assert.NotContains(t, string(msg), h)
			}
			assertCRLF(t, msg)
			if !tc.keepsMID {
				assert.Contains(t, string(msg), "@host.example>")
			}
		})
	}
}

func TestParsePickupErrorSource(t *testing.T) {
	_, _, err := ParsePickup([]byte("hello world\r\n"), t0, "h")
	require.Error(t, err)
	assert.Equal(t, `mailqueue: message: malformed header line "hello world"`, err.Error(),
		"ParsePickup does not know the source and claims none")
	named := WithSource(err, "stdin")
	assert.Equal(t, `mailqueue: stdin: malformed header line "hello world"`, named.Error())
	assert.ErrorIs(t, named, ErrPickup)
	var me *MessageError
	require.ErrorAs(t, named, &me)
	assert.Equal(t, "stdin", me.Source)
	assert.Contains(t, err.Error(), "mailqueue: message:", "WithSource does not modify its argument")
	other := errors.New("x")
	assert.Same(t, other, WithSource(other, "stdin"))
	assert.NoError(t, WithSource(nil, "stdin"))

	_, _, err = ParsePickup([]byte("From: a@example.com\r\n\r\n"), t0, "h")
	assert.ErrorIs(t, err, ErrPickup)
	assert.ErrorIs(t, err, ErrInvalidEnvelope, "the envelope problem stays inspectable")
}

func TestIngestPickupQuarantineNamesFile(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PickupDir = "" })
	dir := h.spool.PickupDir()
	h.q.cfg.PickupDir = dir
	bad := filepath.Join(dir, "bad.eml")
	require.NoError(t, os.WriteFile(bad, []byte("garbage\n"), 0o600))
	n, err := h.q.IngestPickup(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 0, n)
	reasons, err := filepath.Glob(filepath.Join(h.spool.Dir(), "corrupt", "*.reason"))
	require.NoError(t, err)
	require.Len(t, reasons, 1)
	raw, err := os.ReadFile(reasons[0])
	require.NoError(t, err)
	assert.Contains(t, string(raw), "mailqueue: "+bad+": malformed header line")
}

func assertCRLF(t *testing.T, msg []byte) {
	t.Helper()
	for i, c := range msg {
		if c == '\n' && (i == 0 || msg[i-1] != '\r') {
			t.Fatalf("bare LF at %d", i)
		}
		if c == '\r' && (i+1 >= len(msg) || msg[i+1] != '\n') {
			t.Fatalf("bare CR at %d", i)
		}
	}
}

func FuzzParsePickup(f *testing.F) {
	f.Add([]byte("From: a@example.com\r\nTo: b@example.com\r\n\r\nbody\r\n"))
	f.Add([]byte("X-Sender: a@b\nX-Receiver: c@d\n\nx"))
	f.Add([]byte("From: a@b\r\n\tfolded\r\nBcc: x@y\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		env, msg, err := ParsePickup(raw, t0, "h")
		if err != nil {
			return
		}
		require.NoError(t, ValidateEnvelope(env))
		assertCRLF(t, msg)
		hdr, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
		for _, line := range strings.Split(string(hdr), "\r\n") {
			l := strings.ToLower(line)
			assert.False(t, strings.HasPrefix(l, "bcc:") || strings.HasPrefix(l, "x-sender:") || strings.HasPrefix(l, "x-receiver:"), line)
		}
		// Parsing the result again yields the same envelope when it came
		// from headers (idempotent ingestion).
		if !bytes.Contains(bytes.ToLower(raw), []byte("x-receiver")) && !bytes.Contains(bytes.ToLower(raw), []byte("bcc")) {
			env2, _, err := ParsePickup(msg, t0, "h")
			if assert.NoError(t, err) {
				assert.Equal(t, env, env2)
			}
		}
	})
}

func TestQueuePickupFolder(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PickupDir = "" })
	q, err := New(Config{Store: h.spool, Sender: h.sender, PickupDir: h.spool.PickupDir(), PollInterval: 2 * time.Millisecond, IdleClose: -1})
	require.NoError(t, err)
	h.q = q
	dir := h.spool.PickupDir()
	write := func(name, content string) {
		tmp := filepath.Join(h.spool.Dir(), "tmp", name)
		require.NoError(t, os.WriteFile(tmp, []byte(content), 0o600))
		require.NoError(t, os.Rename(tmp, filepath.Join(dir, name)))
	}
	write("001.eml", "From: a@example.com\nTo: b@example.com\nBcc: hidden@example.com\nSubject: one\n\nbody\n")
	write("002.eml", "garbage without headers\n")
	write(".003.eml", "From: a@example.com\nTo: b@example.com\nSubject: hidden-in-progress\n\nx\n")
	write("004.tmp", "From: a@example.com\nTo: b@example.com\nSubject: tmp\n\nx\n")
	h.run()
	waitFor(t, "pickup delivery", func() bool { return len(h.sender.Sent()) == 1 })
	assert.Equal(t, []string{"one"}, h.sender.Sent())
	waitFor(t, "quarantine", func() bool { return len(files(t, filepath.Join(h.spool.Dir(), "corrupt"))) == 2 })
	left := files(t, dir)
	assert.ElementsMatch(t, []string{".003.eml", "004.tmp"}, left, "only complete .eml files are taken")
	assert.Contains(t, files(t, filepath.Join(h.spool.Dir(), "corrupt")), "002.eml")
	assert.Contains(t, files(t, filepath.Join(h.spool.Dir(), "corrupt")), "002.eml.reason")
}

func TestIngestPickupNotConfigured(t *testing.T) {
	s := openTestSpool(t, t.TempDir())
	q, err := New(Config{Store: s, PickupDir: s.PickupDir()})
	require.NoError(t, err)
	p := filepath.Join(s.PickupDir(), "x.eml")
	require.NoError(t, os.WriteFile(p, []byte("From: a@b\r\nTo: c@d\r\n\r\nx"), 0o600))
	n, err := q.IngestPickup(context.Background())
	assert.ErrorIs(t, err, ErrNotConfigured)
	assert.Zero(t, n)
	assert.FileExists(t, p, "files wait until mail is configured")
}
