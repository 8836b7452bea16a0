package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writePlan(t *testing.T, plan string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plan.json")
	require.NoError(t, os.WriteFile(path, []byte(plan), 0o600))
	return path
}

func runCLI(t *testing.T, plan, input string, extra ...string) (int, []map[string]any, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	args := append([]string{"-plan", writePlan(t, plan)}, extra...)
	code := run(args, strings.NewReader(input), &out, &errOut)
	var objs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		objs = append(objs, m)
	}
	return code, objs, errOut.String()
}

// TestCLIIssueCases runs the cases through the command line.
func TestCLIIssueCases(t *testing.T) {
	for _, c := range []struct {
		name, plan, line string
		want             map[string]any
	}{
		{"IT in prefix", `{"local_country_code":"+39","international_prefix":"00","incoming_prefix":"0"}`, "in 00612345678",
			map[string]any{"input": "00612345678", "direction": "in", "kind": "external", "key": "+390612345678"}},
		{"GB internal", `{"local_country_code":"+44","internal_patterns":["2XXX"]}`, "in 2001",
			map[string]any{"kind": "internal", "key": "2001", "rule": 0.0}},
		{"US tapi on", `{"local_country_code":"+1","international_prefix":"011","outgoing_prefix":"9","tapi_includes_prefix":true}`, "tapi 912025550123",
			map[string]any{"direction": "tapi", "kind": "external", "key": "+12025550123"}},
		{"US tapi off", `{"local_country_code":"+1","international_prefix":"011","outgoing_prefix":"9"}`, "tapi 912025550123",
			map[string]any{"kind": "unknown", "key": "912025550123"}},
		{"US idd 00", `{"local_country_code":"+1","international_prefix":"00"}`, "in 0044 20 7946 0123",
			map[string]any{"input": "0044 20 7946 0123", "key": "+442079460123"}},
		{"IT legacy", `{"local_country_code":"+39","international_prefix":"00"}`, "in 3931234567",
			map[string]any{"key": "+393931234567", "legacy_key": "3931234567"}},
		{"GB out IT", `{"local_country_code":"+44","international_prefix":"00","outgoing_prefix":"9"}`, "out +390612345678",
			map[string]any{"direction": "out", "dial": "900390612345678"}},
		{"GB out GB", `{"local_country_code":"+44","international_prefix":"00","outgoing_prefix":"9"}`, "out +442079460123",
			map[string]any{"dial": "902079460123"}},
		{"US 11", `{"local_country_code":"+1","international_prefix":"011"}`, "in 12025550123", map[string]any{"key": "+12025550123"}},
		{"US 10", `{"local_country_code":"+1","international_prefix":"011"}`, "in 2025550123", map[string]any{"key": "+12025550123"}},
		{"US formatted", `{"local_country_code":"+1","international_prefix":"011"}`, "in +1-(202)-555 0123", map[string]any{"key": "+12025550123"}},
		{"cisco 999911", `{"internal_patterns":["9+11"]}`, "classify 999911", map[string]any{"kind": "internal", "rule": 0.0}},
		{"cisco +911", `{"internal_patterns":["9+11"]}`, "classify +911", map[string]any{"kind": "external"}},
		{"first", `{"internal_patterns":["1[3-5]XX","15!"]}`, "classify 1515", map[string]any{"rule": 0.0}},
		{"closest", `{"internal_patterns":["1[3-5]XX","15!"],"match_mode":"closest"}`, "classify 1515", map[string]any{"rule": 1.0}},
		{"primary", `{"local_country_code":"+44","outgoing_prefix":"9"}`, "out 2001 primary=2001", map[string]any{"dial": "2001", "kind": "internal"}},
		{"suffix", `{"local_country_code":"+44","outgoing_prefix":"9","outgoing_suffix":"#"}`, "out 020 7946 0123", map[string]any{"dial": "902079460123#"}},
		{"e164", `{"local_country_code":"+44","outgoing_prefix":"9","e164_dialing":true}`, "out 020 7946 0123", map[string]any{"dial": "+442079460123"}},
		{"anonymous", `{"local_country_code":"+44"}`, "in anonymous", map[string]any{"kind": "anonymous"}},
		{"defaults", `{"use_defaults":true,"local_country_code":"bogus"}`, "in 2001", map[string]any{"kind": "internal", "rule": 0.0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, objs, stderr := runCLI(t, c.plan, c.line+"\n")
			require.Equal(t, 0, code, stderr)
			require.Len(t, objs, 1)
			for k, v := range c.want {
				assert.Equal(t, v, objs[0][k], k)
			}
			_, hasExplain := objs[0]["explain"]
			assert.False(t, hasExplain)
		})
	}
}

func TestCLIOmitsEmptyFieldsAndExplains(t *testing.T) {
	code, objs, _ := runCLI(t, `{"local_country_code":"+44"}`, "in 020 7946 0123\n\n// comment\nfoo 1\nout anonymous\n", "-explain")
	require.Equal(t, 0, code)
	require.Len(t, objs, 3)
	assert.NotContains(t, objs[0], "dial")
	assert.NotContains(t, objs[0], "rule")
	assert.NotContains(t, objs[0], "error")
	steps, ok := objs[0]["explain"].([]any)
	require.True(t, ok)
	assert.NotEmpty(t, steps)
	assert.Contains(t, objs[1]["error"], "unknown command")
	assert.Equal(t, "numplan: nothing to dial", objs[2]["error"])
}

func TestCLIBadPlan(t *testing.T) {
	code, objs, stderr := runCLI(t, `{"internal_patterns":["+44!","[]"],"international_prefix":"+1","local_country_code":"+44,+39","bogus":true,"e164_dialing":"yes"}`, "in 1\n")
	assert.Equal(t, 2, code)
	assert.Empty(t, objs)
	for _, want := range []string{"bogus: unknown field", "e164_dialing:", "international_prefix:", "local_country_code:", "internal_patterns[0]: at byte 0", "internal_patterns[1]: at byte 0: empty brackets"} {
		assert.Contains(t, stderr, want)
	}
	code, _, stderr = runCLI(t, `not json`, "")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "not a JSON object")
	var out, errOut bytes.Buffer
	assert.Equal(t, 2, run(nil, strings.NewReader(""), &out, &errOut))
	assert.Contains(t, errOut.String(), "usage")
	assert.Equal(t, 2, run([]string{"-plan", filepath.Join(t.TempDir(), "missing.json")}, strings.NewReader(""), &out, &errOut))
}

// TestCLIMissingPlanFile: a plan file that cannot be read is not called
// an invalid plan.
func TestCLIMissingPlanFile(t *testing.T) {
	dir := t.TempDir()
	for name, path := range map[string]string{
		"missing":   filepath.Join(dir, "missing.json"),
		"directory": dir,
	} {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			assert.Equal(t, 2, run([]string{"-plan", path}, strings.NewReader("in 1\n"), &out, &errOut))
			assert.Empty(t, out.String())
			assert.True(t, strings.HasPrefix(errOut.String(), "numplan: cannot read plan file: "), errOut.String())
			assert.Contains(t, errOut.String(), path)
			assert.NotContains(t, errOut.String(), "invalid plan")
		})
	}
}

// TestCLIUnknownCommand: the whole line is the input, and the error names
// the unknown command.
func TestCLIUnknownCommand(t *testing.T) {
	for _, c := range []struct{ line, cmd string }{
		{"bogus 123", "bogus"},
		{"bogus", "bogus"},
		{"inn 020 7946 0123 primary=2001", "inn"},
		{"\tclassify2\t 1515", "classify2"},
	} {
		t.Run(c.line, func(t *testing.T) {
			code, objs, stderr := runCLI(t, `{"local_country_code":"+44"}`, c.line+"\nin 2001\n")
			require.Equal(t, 0, code, stderr)
			require.Len(t, objs, 2)
			assert.Equal(t, map[string]any{
				"input": strings.TrimSpace(c.line),
				"error": `numplan: unknown command "` + c.cmd + `" (want in, tapi, out or classify)`,
			}, objs[0])
			assert.Equal(t, "in", objs[1]["direction"], "the next line is processed")
		})
	}
}
