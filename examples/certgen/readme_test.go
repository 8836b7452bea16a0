package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/internal/readmetest"
)

// TestReadmeCommands runs the README's commands in order, in an empty
// folder (they write ./certs), and checks the documented results.
func TestReadmeCommands(t *testing.T) {
	cases := readmetest.Load(t, "README.md", "./examples/certgen")
	require.GreaterOrEqual(t, len(cases), 7)
	t.Chdir(t.TempDir())
	for _, c := range cases {
		require.True(t, c.Stdin == "" && c.StdinFile == "", "README line %d: certgen reads no standard input: %s", c.Line, c.Text)
		var out, errOut bytes.Buffer
		code := run(c.Args, &out, &errOut)
		c.Check(t, code, out.String(), errOut.String())
		assert.True(t, len(c.StdoutHas)+len(c.StderrHas) > 0, "README line %d documents no output", c.Line)
	}
	// The README's description of the files.
	fi, err := os.Stat("certs/key.pem")
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	fi, err = os.Stat("certs/cert.pem")
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
}
