package sysparams

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWatchRebuildsOnRelevantChanges(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	_, err := s.Update(ctx, setAll(validParams()))
	require.NoError(t, err)

	var ports []int
	var errs []error
	fail := false
	stop, err := Watch(ctx, s, []string{SectionEmail, SectionProxy}, func(p *Params) error {
		if fail {
			return errors.New("cannot build")
		}
		ports = append(ports, p.Email.Port)
		return nil
	}, func(err error) { errs = append(errs, err) })
	require.NoError(t, err)
	require.Equal(t, []int{25}, ports, "built at once")

	_, err = s.Update(ctx, func(p *Params) error { p.Email.Port = 587; return nil })
	require.NoError(t, err)
	_, err = s.Update(ctx, func(p *Params) error { p.Telephony.SystemName = "B"; return nil })
	require.NoError(t, err)
	require.Equal(t, []int{25, 587}, ports, "telephony does not rebuild the mail sender")

	fail = true
	_, err = s.Update(ctx, func(p *Params) error { p.Email.Port = 465; return nil })
	require.NoError(t, err)
	require.Len(t, errs, 1)
	require.Equal(t, []int{25, 587}, ports)

	stop()
	stop()
	fail = false
	_, err = s.Update(ctx, func(p *Params) error { p.Email.Port = 2525; return nil })
	require.NoError(t, err)
	require.Equal(t, []int{25, 587}, ports)

	_, err = Watch(ctx, s, nil, func(*Params) error { return errors.New("first") }, nil)
	require.EqualError(t, err, "first")
}
