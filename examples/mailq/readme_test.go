package main

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readmeCommand is one "./mailq ..." line of README.md's sh block.
type readmeCommand struct {
	line  int
	args  []string
	stdin string // file redirected with "<", "" for none
	exit  int
}

var exitComment = regexp.MustCompile(`#\s*exit (\d)`)

func readmeCommands(t *testing.T) []readmeCommand {
	t.Helper()
	raw, err := os.ReadFile("README.md")
	require.NoError(t, err)
	var cmds []readmeCommand
	inSh := false
	for i, l := range strings.Split(string(raw), "\n") {
		switch {
		case strings.HasPrefix(l, "```sh"):
			inSh = true
			continue
		case strings.HasPrefix(l, "```"):
			inSh = false
			continue
		}
		if !inSh || !strings.HasPrefix(l, "./mailq ") {
			continue
		}
		code, rest, found := strings.Cut(l, "#")
		require.True(t, found, "README line %d: no '# exit N' comment", i+1)
		m := exitComment.FindStringSubmatch("#" + rest)
		require.NotNil(t, m, "README line %d: no '# exit N' comment", i+1)
		c := readmeCommand{line: i + 1}
		c.exit, _ = strconv.Atoi(m[1])
		fields := strings.Fields(code)[1:]
		for j := 0; j < len(fields); j++ {
			if fields[j] == "<" {
				require.Less(t, j+1, len(fields), "README line %d", i+1)
				c.stdin = fields[j+1]
				j++
				continue
			}
			c.args = append(c.args, fields[j])
		}
		cmds = append(cmds, c)
	}
	return cmds
}

// TestReadmeCommands runs the README's example session in order, with
// its relay (127.0.0.1:2525) replaced by an in-process sink and its
// unreachable server (127.0.0.1:1) by a closed port, and checks each
// documented exit status and the documented timeout message.
func TestReadmeCommands(t *testing.T) {
	sink := newCLISink(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	refused := l.Addr().String()
	require.NoError(t, l.Close())
	spool := filepath.Join(t.TempDir(), "spool")
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)

	cmds := readmeCommands(t)
	require.GreaterOrEqual(t, len(cmds), 7)
	seen := map[int]bool{}
	for _, c := range cmds {
		args := make([]string, len(c.args))
		for i, a := range c.args {
			switch a {
			case "./spool":
				a = spool
			case "127.0.0.1:1":
				a = refused
			case "127.0.0.1:2525":
				a = sink.addr
			case "examples/mailq/voicemail.eml":
				a = "voicemail.eml" // tests run in examples/mailq
			}
			args[i] = a
		}
		stdin := ""
		if c.stdin != "" {
			b, err := os.ReadFile(strings.TrimPrefix(c.stdin, "examples/mailq/"))
			require.NoError(t, err, "README line %d", c.line)
			stdin = string(b)
		}
		r := mailq(t, stdin, nil, args...)
		require.Equal(t, c.exit, r.code, "README line %d: %v\nstdout: %s\nstderr: %s", c.line, c.args, r.stdout, r.stderr)
		seen[c.exit] = true
		if c.exit == 1 {
			// The documented message, with the test's address.
			want := regexp.MustCompile("(?m)^mailq deliver: timeout after .*$").Find(readme)
			require.NotNil(t, want, "README shows the timeout message")
			assert.Contains(t, r.stderr, strings.ReplaceAll(string(want), "127.0.0.1:1", refused), "README line %d", c.line)
		}
	}
	assert.True(t, seen[0] && seen[1] && seen[2], "the session shows statuses 0, 1 and 2")
	sink.mu.Lock()
	defer sink.mu.Unlock()
	assert.Len(t, sink.msgs, 2, "both enqueued messages delivered")
	assert.Equal(t, []string{"bob@example.com", "carol@example.com"}, sink.msgs[1].to)
}
