package numplan

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResultJSON(t *testing.T) {
	r := Result{Input: "2001", Direction: DirIn, Kind: KindInternal, Key: "2001", Rule: 0}
	b, err := json.Marshal(r)
	require.NoError(t, err)
	assert.Equal(t, `{"input":"2001","direction":"in","kind":"internal","key":"2001","rule":0}`, string(b))
	r = Result{Input: "x<", Direction: DirOut, Rule: -1, Err: ErrNothingToDial, Explain: []Step{{Step: "sanitize", Note: "n"}}}
	b, err = json.Marshal(r)
	require.NoError(t, err)
	assert.Equal(t, `{"input":"x\u003c","direction":"out","explain":[{"step":"sanitize","note":"n"}],"error":"numplan: nothing to dial"}`, string(b))
}
