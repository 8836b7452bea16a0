package readmetest_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/internal/readmetest"
)

const sample = "# Tool\n\n```\ngo run ./examples/tool ignored outside sh\n```\n\n" +
	"```sh\necho 'pw' | go run ./examples/tool -user alice\n# exit status 1\n```\n\n" +
	"```json\n{\"a\":1}\n{\"b\":2}\n```\n\n" +
	"```sh\ngo run ./examples/tool -plan p.json < in.txt\n# prints: ok\n# prints: done\n# stderr: warn\n" +
	"go run ./examples/tool <<'EOF'\nline one\nline two\nEOF\ngo run ./examples/tool\n```\n"

func TestParse(t *testing.T) {
	cases, err := readmetest.Parse(sample, "./examples/tool")
	require.NoError(t, err)
	require.Len(t, cases, 4)
	out := "{\"a\":1}\n{\"b\":2}\n"
	assert.Equal(t, readmetest.Case{Line: 8, Text: "echo 'pw' | go run ./examples/tool -user alice",
		Args: []string{"-user", "alice"}, Stdin: "pw\n", Exit: 1, Stdout: &out}, cases[0])
	assert.Equal(t, readmetest.Case{Line: 18, Text: "go run ./examples/tool -plan p.json < in.txt",
		Args: []string{"-plan", "p.json"}, StdinFile: "in.txt", StdoutHas: []string{"ok", "done"}, StderrHas: []string{"warn"}}, cases[1])
	assert.Equal(t, "line one\nline two\n", cases[2].Stdin)
	assert.Empty(t, cases[2].Args)
	assert.Nil(t, cases[2].Stdout)
	assert.Equal(t, 26, cases[3].Line)
	assert.False(t, cases[3].Documented())
	assert.True(t, cases[1].Documented())
}

func TestParseErrors(t *testing.T) {
	for name, tc := range map[string]struct{ readme, want string }{
		"other program":    {"```sh\ngo run ./examples/other -x\n```\n", "README line 2: not a command"},
		"prefix only":      {"```sh\ngo run ./examples/toolbox\n```\n", "README line 2: not a command"},
		"stray line":       {"```sh\ngo run ./examples/tool\nls\n```\n", "README line 3: not a command"},
		"blank line":       {"```sh\ngo run ./examples/tool\n\n```\n", "README line 3: not a command"},
		"comment first":    {"```sh\n# prints: x\n```\n", "README line 2: \"# prints: x\" before any command"},
		"bad status":       {"```sh\ngo run ./examples/tool\n# exit status two\n```\n", "README line 3: exit status"},
		"unclosed sh":      {"```sh\ngo run ./examples/tool", "README line 1: ```sh block never closed"},
		"unclosed json":    {"```sh\ngo run ./examples/tool\n```\n\n```json\n{}\n", "README line 2: ```json block never closed"},
		"no EOF":           {"```sh\ngo run ./examples/tool <<'EOF'\nx\n```\n", "README line 2: here document without EOF"},
		"two inputs":       {"```sh\necho 'a' | go run ./examples/tool < f\n```\n", "README line 2: two standard inputs"},
		"echo and heredoc": {"```sh\necho 'a' | go run ./examples/tool <<'EOF'\nb\nEOF\n```\n", "README line 2: both echo and a here document"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := readmetest.Parse(tc.readme, "./examples/tool")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// fakeT records failures instead of stopping the test.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper()                           {}
func (f *fakeT) Errorf(format string, args ...any) { f.failed = true }

func TestCheck(t *testing.T) {
	out := "{\"a\":1}\n"
	c := readmetest.Case{Line: 3, Text: "go run ./examples/tool", Exit: 1, Stdout: &out,
		StdoutHas: []string{"\"a\""}, StderrHas: []string{"warn"}}
	for name, tc := range map[string]struct {
		code           int
		stdout, stderr string
		fail           bool
	}{
		"as documented":  {1, out, "a warning\n", false},
		"other status":   {0, out, "a warning\n", true},
		"other output":   {1, out + "\n", "a warning\n", true},
		"missing stderr": {1, out, "", true},
	} {
		t.Run(name, func(t *testing.T) {
			f := &fakeT{TB: t}
			c.Check(f, tc.code, tc.stdout, tc.stderr)
			assert.Equal(t, tc.fail, f.failed)
		})
	}
}

func TestInput(t *testing.T) {
	t.Chdir(t.TempDir())
	require.NoError(t, writeFile("in.txt", "from file\n"))
	assert.Equal(t, "from file\n", readmetest.Case{StdinFile: "in.txt"}.Input(t))
	assert.Equal(t, "echoed\n", readmetest.Case{Stdin: "echoed\n"}.Input(t))
}

func writeFile(name, text string) error { return os.WriteFile(name, []byte(text), 0o600) }
