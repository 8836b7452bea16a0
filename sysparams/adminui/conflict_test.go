package adminui_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/sysparams"
)

var stampRE = regexp.MustCompile(`name="section_stamp" value="([^"]+)"`)

// Two administrators open the same page; the second save must not
// silently overwrite the first one's change (lost update), including a
// change of a secret only.
func TestConcurrentEditsRefusedWithConflict(t *testing.T) {
	e := newEnv(t, withSecrets)
	page := e.get("/telephony")
	tok := tokenRE.FindStringSubmatch(page.body)[1]
	stamp := stampRE.FindStringSubmatch(page.body)
	require.NotNil(t, stamp, "the form carries a section stamp")

	// Someone else saves the section meanwhile.
	_, err := e.store.Update(context.Background(), func(p *sysparams.Params) error {
		p.Telephony.SystemName = "Changed elsewhere"
		return nil
	})
	require.NoError(t, err)
	before := e.fileBytes()

	r := e.postRaw("/telephony", url.Values{"csrf_token": {tok}, "section_stamp": {stamp[1]},
		"telephony.system_name": {"Mine"}, "telephony.pbx_address": {"10.0.0.9"}})
	require.Equal(t, http.StatusConflict, r.code, r.body)
	assert.Contains(t, r.body, "Someone else saved this page")
	assert.Contains(t, r.body, `value="Changed elsewhere"`, "the stored values are shown")
	assert.Equal(t, before, e.fileBytes())

	// The page of the conflict carries the new stamp: saving it works.
	stamp2 := stampRE.FindStringSubmatch(r.body)
	require.NotNil(t, stamp2)
	r = e.postRaw("/telephony", url.Values{"csrf_token": {tok}, "section_stamp": {stamp2[1]},
		"telephony.system_name": {"Mine"}, "telephony.pbx_address": {"10.0.0.9"}})
	require.Equal(t, http.StatusSeeOther, r.code, r.body)
	assert.Equal(t, "Mine", e.params().Telephony.SystemName)

	// A changed secret alone makes a stale form too; the stamp does not
	// reveal it.
	page = e.get("/cloud")
	require.NotNil(t, stampRE.FindStringSubmatch(page.body))
	st := stampRE.FindStringSubmatch(page.body)[1]
	_, err = e.store.Update(context.Background(), func(p *sysparams.Params) error {
		p.Cloud.ClientSecret = sysparams.NewSecret("rotated-elsewhere")
		return nil
	})
	require.NoError(t, err)
	r = e.postRaw("/cloud", url.Values{"csrf_token": {tok}, "section_stamp": {st}, "cloud.client_id": {"other"}})
	require.Equal(t, http.StatusConflict, r.code, r.body)
	assert.Equal(t, "rotated-elsewhere", e.params().Cloud.ClientSecret.Reveal())

	// Another section's change does not make this form stale.
	page = e.get("/web_server")
	st = stampRE.FindStringSubmatch(page.body)[1]
	_, err = e.store.Update(context.Background(), func(p *sysparams.Params) error {
		p.Telephony.SystemName = "Again"
		return nil
	})
	require.NoError(t, err)
	r = e.postRaw("/web_server", url.Values{"csrf_token": {tok}, "section_stamp": {st}, "web_server.base_url": {"https://ucx.example.com"}})
	require.Equal(t, http.StatusSeeOther, r.code, r.body)
	e.requireNoSecrets()
}

// Saves racing from the same page: the store serializes them, exactly one
// wins and every other gets 409; the file stays valid.
func TestConcurrentSavesOneWins(t *testing.T) {
	e := newEnv(t, nil)
	page := e.get("/telephony")
	tok := tokenRE.FindStringSubmatch(page.body)[1]
	stamp := stampRE.FindStringSubmatch(page.body)[1]
	const n = 8
	codes := make(chan int, n)
	for i := range n {
		go func() {
			f := url.Values{"csrf_token": {tok}, "section_stamp": {stamp},
				"telephony.system_name": {"N" + itoa(i)}, "telephony.pbx_address": {"10.0.0.1"}}
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/telephony", strings.NewReader(f.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res, err := e.client.Do(req)
			if err != nil {
				codes <- 0
				return
			}
			res.Body.Close()
			codes <- res.StatusCode
		}()
	}
	count := map[int]int{}
	for range n {
		count[<-codes]++
	}
	assert.Equal(t, map[int]int{http.StatusSeeOther: 1, http.StatusConflict: n - 1}, count)
	assert.Regexp(t, `^N[0-7]$`, e.params().Telephony.SystemName)
}
