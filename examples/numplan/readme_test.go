package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/internal/readmetest"
	"github.com/ucxkit/ucxkit/numplan"
)

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
	cases := readmetest.Load(t, "README.md", "./examples/numplan")
	require.GreaterOrEqual(t, len(cases), 5)
	withOutput := 0
	for _, c := range cases {
		if c.Stdout != nil {
			withOutput++
		}
	}
	require.GreaterOrEqual(t, withOutput, 4, "README outputs found")
	t.Chdir(filepath.Join("..", ".."))
	for _, c := range cases {
		t.Run(strconv.Itoa(c.Line), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(c.Args, strings.NewReader(c.Input(t)), &out, &errOut)
			c.Check(t, code, out.String(), errOut.String())
			if c.Stdout != nil {
				for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
					assert.True(t, json.Valid([]byte(l)), l)
				}
			}
			if c.Exit == 0 {
				assert.Empty(t, errOut.String(), c.Text)
			}
		})
	}
}
