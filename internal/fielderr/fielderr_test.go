package fielderr

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestListAndPrefix(t *testing.T) {
	var l List
	require.NoError(t, l.Err())
	l.Add("port", "must be 1-65535, got %d", 70000)
	l.Add("address", "is mandatory")
	inner := l.Err()
	require.EqualError(t, inner, "port: must be 1-65535, got 70000\naddress: is mandatory")

	var outer List
	outer.Merge("email", inner)
	outer.Merge("proxy", errors.New("boom"))
	outer.Merge("numbering_plan.internal_patterns", New("[2]", "bad"))
	outer.Merge("x", nil)
	err := outer.Err()
	require.EqualError(t, err, "email.port: must be 1-65535, got 70000\nemail.address: is mandatory\nproxy: boom\nnumbering_plan.internal_patterns[2]: bad")
	var fe *Error
	require.True(t, errors.As(err, &fe))
	require.Equal(t, "email.port", fe.Field)
	require.Len(t, Flatten(err), 4)
	require.Equal(t, inner, Prefix("", inner))
}
