package sysparams

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDiffRestartLevels(t *testing.T) {
	cases := []struct {
		name     string
		mod      func(p *Params)
		fields   []string
		sections []string
		restart  Restart
		notes    int
	}{
		{"nothing", func(p *Params) {}, nil, nil, RestartNone, 0},
		{"telephony", func(p *Params) { p.Telephony.PBXAddress = "10.0.0.9" }, []string{"telephony.pbx_address"}, []string{"telephony"}, RestartServices, 1},
		{"email port", func(p *Params) { p.Email.Port = 587 }, []string{"email.port"}, []string{"email"}, RestartNone, 0},
		{"email password value", func(p *Params) { p.Email.Password = NewSecret("other") }, []string{"email.password"}, []string{"email"}, RestartNone, 0},
		{"auth timeout", func(p *Params) { p.Authentication.InactivityTimeout = Duration(9 * Day) }, []string{"authentication.inactivity_timeout"}, []string{"authentication"}, RestartNone, 0},
		{"numbering", func(p *Params) {
			p.NumberingPlan.UseDefaults = false
			p.NumberingPlan.InternalPatterns = []string{"2XXX"}
		}, []string{"numbering_plan.internal_patterns", "numbering_plan.use_defaults"}, []string{"numbering_plan"}, RestartNone, 0},
		{"proxy and telephony", func(p *Params) {
			p.Telephony.SystemName = "B"
			setTestHTTPProxy(p)
		}, nil, []string{"telephony", "proxy"}, RestartHost, 2},
		{"cloud forget", func(p *Params) { p.Cloud.Forget() }, []string{"cloud.client_id", "cloud.client_secret"}, []string{"cloud"}, RestartNone, 0},
		{"web server", func(p *Params) { p.WebServer.BaseURL = "https://x.example.com" }, []string{"web_server.base_url"}, []string{"web_server"}, RestartNone, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := validParams()
			nw, err := old.Clone()
			require.NoError(t, err)
			tc.mod(nw)
			c := Diff(old, nw)
			if tc.fields != nil {
				require.Equal(t, tc.fields, c.Fields)
			}
			require.Equal(t, tc.sections, c.Sections)
			require.Equal(t, tc.restart, c.Restart)
			require.Len(t, c.Notes, tc.notes)
			require.Equal(t, len(tc.sections) == 0, c.Empty())
		})
	}
}

func TestSubscribersAndReload(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	var got []Change
	unsub := s.Subscribe(func(c Change) { got = append(got, c) })

	_, err := s.Update(ctx, setAll(validParams()))
	require.NoError(t, err)
	c, err := s.Update(ctx, func(p *Params) error { p.Telephony.SystemName = "Branch"; return nil })
	require.NoError(t, err)
	require.Equal(t, RestartServices, c.Restart)
	c, err = s.Update(ctx, func(p *Params) error { return nil })
	require.NoError(t, err)
	require.True(t, c.Empty())
	require.EqualValues(t, 2, c.Revision, "an empty update saves nothing")

	c, err = Forget(ctx, s, SectionCloud)
	require.NoError(t, err)
	require.Equal(t, []string{"cloud"}, c.Sections)
	p, err := s.Load(ctx)
	require.NoError(t, err)
	require.False(t, p.Cloud.Configured())

	require.Len(t, got, 3)
	require.Equal(t, "Branch", got[1].New.Telephony.SystemName)
	require.Equal(t, "HQ", got[1].Old.Telephony.SystemName)

	// Another process changes the file: Reload notifies.
	other, err := OpenFile(ctx, path, FileOptions{})
	require.NoError(t, err)
	_, err = other.Update(ctx, func(p *Params) error { p.Email.Port = 2525; return nil })
	require.NoError(t, err)
	c, err = s.Reload(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"email.port"}, c.Fields)
	require.Len(t, got, 4)
	c, err = s.Reload(ctx)
	require.NoError(t, err)
	require.True(t, c.Empty())
	require.Len(t, got, 4)

	unsub()
	unsub()
	_, err = s.Update(ctx, func(p *Params) error { p.Email.Port = 26; return nil })
	require.NoError(t, err)
	require.Len(t, got, 4)

	require.NoError(t, s.Close())
	_, err = s.Load(ctx)
	require.ErrorIs(t, err, ErrClosed)
	_, err = s.Update(ctx, func(*Params) error { return nil })
	require.ErrorIs(t, err, ErrClosed)
	require.NoError(t, s.Close())
	_ = os.Remove(path)
}
