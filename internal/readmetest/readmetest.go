package readmetest

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Case is one documented command of a README and what the README says it
// does.
type Case struct {
	// Line is the 1-based README line of the command.
	Line int
	// Text is the command line as written in the README.
	Text string
	// Args are the arguments after "go run PROG".
	Args []string
	// Stdin is the standard input given by "echo '...' |" (with its
	// newline) or by a here document; "" when neither is used.
	Stdin string
	// StdinFile is the file named by "< FILE", relative to the repository
	// root; "" when none.
	StdinFile string
	// Exit is the documented exit status (0 unless "# exit status N").
	Exit int
	// Stdout is the exact standard output from the ```json block after
	// the command's ```sh block; nil when there is none.
	Stdout *string
	// StdoutHas are the "# prints: " texts standard output must contain.
	StdoutHas []string
	// StderrHas are the "# stderr: " texts standard error must contain.
	StderrHas []string
}

var echoPipe = regexp.MustCompile(`^echo '([^']*)' \| (.*)$`)

// Parse extracts the commands of prog ("./examples/NAME") from the ```sh
// blocks of readme, following the syntax described in the package
// documentation.
func Parse(readme, prog string) ([]Case, error) {
	lines := strings.Split(readme, "\n")
	run := "go run " + prog
	var cases []Case
	for i := 0; i < len(lines); i++ {
		if lines[i] != "```sh" {
			continue
		}
		open := i + 1
		last := -1 // index in cases of the block's last command
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			l := lines[i]
			comment := func(prefix string) (string, bool, error) {
				rest, ok := strings.CutPrefix(l, prefix)
				if ok && last < 0 {
					return "", false, fmt.Errorf("readmetest: README line %d: %q before any command", i+1, l)
				}
				return rest, ok, nil
			}
			if rest, ok, err := comment("# exit status "); err != nil {
				return nil, err
			} else if ok {
				n, err := strconv.Atoi(rest)
				if err != nil {
					return nil, fmt.Errorf("readmetest: README line %d: exit status: %w", i+1, err)
				}
				cases[last].Exit = n
				continue
			}
			if rest, ok, err := comment("# prints: "); err != nil {
				return nil, err
			} else if ok {
				cases[last].StdoutHas = append(cases[last].StdoutHas, rest)
				continue
			}
			if rest, ok, err := comment("# stderr: "); err != nil {
				return nil, err
			} else if ok {
				cases[last].StderrHas = append(cases[last].StderrHas, rest)
				continue
			}
			c := Case{Line: i + 1, Text: l}
			if m := echoPipe.FindStringSubmatch(l); m != nil {
				c.Stdin, l = m[1]+"\n", m[2]
			}
			if before, ok := strings.CutSuffix(l, " <<'EOF'"); ok {
				if c.Stdin != "" {
					return nil, fmt.Errorf("readmetest: README line %d: both echo and a here document: %s", c.Line, c.Text)
				}
				l = before
				for i++; i < len(lines) && lines[i] != "EOF"; i++ {
					c.Stdin += lines[i] + "\n"
				}
				if i == len(lines) {
					return nil, fmt.Errorf("readmetest: README line %d: here document without EOF", c.Line)
				}
			}
			if before, file, ok := strings.Cut(l, " < "); ok {
				if c.Stdin != "" {
					return nil, fmt.Errorf("readmetest: README line %d: two standard inputs: %s", c.Line, c.Text)
				}
				l, c.StdinFile = before, strings.TrimSpace(file)
			}
			if l != run && !strings.HasPrefix(l, run+" ") {
				return nil, fmt.Errorf("readmetest: README line %d: not a command the test understands: %s", c.Line, c.Text)
			}
			c.Args = strings.Fields(strings.TrimPrefix(l, run))
			cases = append(cases, c)
			last = len(cases) - 1
		}
		if i >= len(lines) {
			return nil, fmt.Errorf("readmetest: README line %d: ```sh block never closed", open)
		}
		if i+2 < len(lines) && lines[i+1] == "" && lines[i+2] == "```json" && last >= 0 {
			var out strings.Builder
			for i += 3; i < len(lines) && lines[i] != "```"; i++ {
				out.WriteString(lines[i] + "\n")
			}
			if i >= len(lines) {
				return nil, fmt.Errorf("readmetest: README line %d: ```json block never closed", cases[last].Line)
			}
			s := out.String()
			cases[last].Stdout = &s
		}
	}
	return cases, nil
}

// Load reads the README at path and parses the commands of prog, failing
// the test at once on any error.
func Load(t testing.TB, path, prog string) []Case {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	cases, err := Parse(string(data), prog)
	require.NoError(t, err)
	return cases
}

// Input returns the command's standard input: the echo or here-document
// text, or the contents of StdinFile read from the current directory
// (which the caller sets to the repository root). A missing file fails the
// test.
func (c Case) Input(t testing.TB) string {
	t.Helper()
	if c.StdinFile == "" {
		return c.Stdin
	}
	b, err := os.ReadFile(c.StdinFile)
	require.NoError(t, err, c.Text)
	return string(b)
}

// Check asserts what the README documents about one run: the exit status,
// the exact standard output when a ```json block gives it, and every
// "# prints:" and "# stderr:" text.
func (c Case) Check(t testing.TB, code int, stdout, stderr string) {
	t.Helper()
	assert.Equal(t, c.Exit, code, "README line %d: %s\n%s", c.Line, c.Text, stderr)
	if c.Stdout != nil {
		assert.Equal(t, *c.Stdout, stdout, "README line %d: %s", c.Line, c.Text)
	}
	for _, s := range c.StdoutHas {
		assert.Contains(t, stdout, s, "README line %d: %s", c.Line, c.Text)
	}
	for _, s := range c.StderrHas {
		assert.Contains(t, stderr, s, "README line %d: %s", c.Line, c.Text)
	}
}

// Documented reports whether the README says anything about the command's
// output (an exact ```json block, "# prints:" or "# stderr:").
func (c Case) Documented() bool {
	return c.Stdout != nil || len(c.StdoutHas) > 0 || len(c.StderrHas) > 0
}
