package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/numplan"
)

// docCase is one command of the README: the arguments after
// "go run ./examples/numplan", its standard input, and what the README
// says it prints.
type docCase struct {
	line      int
	text      string
	args      []string
	stdin     string
	stdinFile string
	exit      int
	stdout    *string // exact, from the ```json block that follows
	stderrHas []string
}

// readmeCases extracts the commands of README.md's ```sh blocks. A command
// is "[echo 'TEXT' |] go run ./examples/numplan ARGS [< FILE | <<'EOF']";
// the comment lines after it may say "# exit status N" and "# stderr:
// TEXT"; a ```json block right after the ```sh block is the exact output
// of its last command.
func readmeCases(t *testing.T, readme, prog string) []docCase {
	t.Helper()
	data, err := os.ReadFile(readme)
	require.NoError(t, err)
	lines := strings.Split(string(data), "\n")
	var cases []docCase
	echo := regexp.MustCompile(`^echo '([^']*)' \| (.*)$`)
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
			case strings.HasPrefix(l, "# stderr: "):
				require.NotNil(t, last, "README line %d", i+1)
				last.stderrHas = append(last.stderrHas, strings.TrimPrefix(l, "# stderr: "))
			case strings.Contains(l, "go run "+prog+" ") || strings.HasSuffix(l, "go run "+prog):
				c := docCase{line: i + 1, text: l}
				if m := echo.FindStringSubmatch(l); m != nil {
					c.stdin, l = m[1]+"\n", m[2]
				}
				if before, ok := strings.CutSuffix(l, " <<'EOF'"); ok {
					l = before
					for i++; lines[i] != "EOF"; i++ {
						c.stdin += lines[i] + "\n"
					}
				}
				if before, file, ok := strings.Cut(l, " < "); ok {
					l, c.stdinFile = before, strings.TrimSpace(file)
				}
				require.True(t, strings.HasPrefix(l, "go run "+prog), "README line %d: %s", c.line, c.text)
				c.args = strings.Fields(strings.TrimPrefix(l, "go run "+prog))
				cases = append(cases, c)
				last = &cases[len(cases)-1]
			}
		}
		if i+2 < len(lines) && lines[i+1] == "" && lines[i+2] == "```json" && last != nil {
			var out strings.Builder
			for i += 3; lines[i] != "```"; i++ {
				out.WriteString(lines[i] + "\n")
			}
			s := out.String()
			last.stdout = &s
		}
	}
	return cases
}

// TestSamplePlanLoads: plan.json is a valid plan with no rule that can
// never match.
func TestSamplePlanLoads(t *testing.T) {
	cfg, err := loadPlan("plan.json")
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	plan, err := numplan.Compile(cfg)
	require.NoError(t, err)
	assert.Empty(t, plan.Lint())
	assert.Equal(t, "+39", cfg.LocalCountryCode)
}

// TestReadmeCommands runs every command of README.md from the repository
// root, as a user would, and compares the output with the README's.
func TestReadmeCommands(t *testing.T) {
	cases := readmeCases(t, "README.md", "./examples/numplan")
	require.GreaterOrEqual(t, len(cases), 5)
	withOutput := 0
	for _, c := range cases {
		if c.stdout != nil {
			withOutput++
		}
	}
	require.GreaterOrEqual(t, withOutput, 4, "README outputs found")
	t.Chdir(filepath.Join("..", ".."))
	for _, c := range cases {
		t.Run(strconv.Itoa(c.line), func(t *testing.T) {
			stdin := c.stdin
			if c.stdinFile != "" {
				b, err := os.ReadFile(c.stdinFile)
				require.NoError(t, err, c.text)
				stdin = string(b)
			}
			var out, errOut bytes.Buffer
			code := run(c.args, strings.NewReader(stdin), &out, &errOut)
			assert.Equal(t, c.exit, code, "%s\n%s", c.text, errOut.String())
			if c.stdout != nil {
				assert.Equal(t, *c.stdout, out.String(), c.text)
				for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
					assert.True(t, json.Valid([]byte(l)), l)
				}
			}
			for _, s := range c.stderrHas {
				assert.Contains(t, errOut.String(), s, c.text)
			}
			if c.exit == 0 {
				assert.Empty(t, errOut.String(), c.text)
			}
		})
	}
}
