package main

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// docCase is one command of the README, with what the README says it
// does.
type docCase struct {
	line      int
	text      string
	args      []string
	exit      int
	stdoutHas []string
	stderrHas []string
}

// readmeCases extracts the "go run ./examples/certgen ARGS" lines of
// README.md's ```sh blocks and the comment lines after each: "# exit
// status N", "# prints: TEXT" (in stdout) and "# stderr: TEXT".
func readmeCases(t *testing.T) []docCase {
	t.Helper()
	data, err := os.ReadFile("README.md")
	require.NoError(t, err)
	lines := strings.Split(string(data), "\n")
	var cases []docCase
	for i := 0; i < len(lines); i++ {
		if lines[i] != "```sh" {
			continue
		}
		var last *docCase
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			l := lines[i]
			switch {
			case strings.HasPrefix(l, "# exit status "):
				require.NotNil(t, last, "README line %d", i+1)
				n, err := strconv.Atoi(strings.TrimPrefix(l, "# exit status "))
				require.NoError(t, err)
				last.exit = n
			case strings.HasPrefix(l, "# prints: "):
				require.NotNil(t, last, "README line %d", i+1)
				last.stdoutHas = append(last.stdoutHas, strings.TrimPrefix(l, "# prints: "))
			case strings.HasPrefix(l, "# stderr: "):
				require.NotNil(t, last, "README line %d", i+1)
				last.stderrHas = append(last.stderrHas, strings.TrimPrefix(l, "# stderr: "))
			default:
				rest, ok := strings.CutPrefix(l, "go run ./examples/certgen ")
				require.True(t, ok, "README line %d: not a command the test understands: %s", i+1, l)
				cases = append(cases, docCase{line: i + 1, text: l, args: strings.Fields(rest)})
				last = &cases[len(cases)-1]
			}
		}
	}
	return cases
}

// TestReadmeCommands runs the README's commands in order, in an empty
// folder (they write ./certs), and checks the documented results.
func TestReadmeCommands(t *testing.T) {
	cases := readmeCases(t)
	require.GreaterOrEqual(t, len(cases), 7)
	t.Chdir(t.TempDir())
	for _, c := range cases {
		var out, errOut bytes.Buffer
		code := run(c.args, &out, &errOut)
		assert.Equal(t, c.exit, code, "README line %d: %s\n%s", c.line, c.text, errOut.String())
		assert.True(t, len(c.stdoutHas)+len(c.stderrHas) > 0, "README line %d documents no output", c.line)
		for _, s := range c.stdoutHas {
			assert.Contains(t, out.String(), s, "README line %d: %s", c.line, c.text)
		}
		for _, s := range c.stderrHas {
			assert.Contains(t, errOut.String(), s, "README line %d: %s", c.line, c.text)
		}
	}
	// The README's description of the files.
	fi, err := os.Stat("certs/key.pem")
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	fi, err = os.Stat("certs/cert.pem")
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
}
