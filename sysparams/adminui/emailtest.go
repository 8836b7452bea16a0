package adminui

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/ucxkit/ucxkit/sysparams"
)

// testEmail is the email page's "Test connection" button: it tests the
// settings as typed in the form (stored secrets fill empty password
// fields), without saving them, and shows every step up to the one that
// failed.
func (h *handler) testEmail(w http.ResponseWriter, r *http.Request) {
	p, ok := h.load(w, r)
	if !ok {
		return
	}
	stored, err := p.Clone()
	if err != nil {
		h.errorPage(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	pg := h.sectionPage(r, sysparams.SectionEmail, p)
	pg.stored = stored
	code := http.StatusOK
	if err := applyEmail(p, r.PostForm); err != nil {
		pg.setProblems(err)
		h.render(w, r, http.StatusUnprocessableEntity, sysparams.SectionEmail, pg)
		return
	}
	ctx, cancel := h.testCtx(r.Context())
	defer cancel()
	res, err := p.TestEmailWith(ctx, h.opts.MailOptions)
	var verr *sysparams.ValidationError
	if errors.As(err, &verr) {
		pg.setProblems(verr)
		code = http.StatusUnprocessableEntity
	}
	scrub := secretScrubber(p)
	for i := range res.Steps {
		res.Steps[i].Detail = scrub.Replace(res.Steps[i].Detail)
	}
	res.Hint = scrub.Replace(res.Hint)
	res.Target = scrub.Replace(res.Target)
	pg.Test = &res
	if err != nil {
		pg.TestErr = scrub.Replace(err.Error())
	}
	h.log.Info("adminui: email connection test", "ok", res.OK, "failed_step", res.FailedStep)
	h.render(w, r, code, sysparams.SectionEmail, pg)
}

// secretScrubber replaces the email secrets of p with "[REDACTED]": as
// typed, form-encoded, base64-encoded, and inside a base64 AUTH PLAIN
// string. The
// sysparams test never quotes a secret itself, but its step details carry
// the server's own replies, and a server may echo what it was sent.
func secretScrubber(p *sysparams.Params) *strings.Replacer {
	var pairs []string
	add := func(s string) {
		if len(s) >= 3 {
			pairs = append(pairs, s, "[REDACTED]")
		}
	}
	for _, sec := range []sysparams.Secret{p.Email.Password, p.Email.O365.ClientSecret} {
		v := sec.Reveal()
		if v == "" {
			continue
		}
		add(v)
		add(url.QueryEscape(v)) // as posted to a token endpoint
		add(base64.StdEncoding.EncodeToString([]byte(v)))
		add(base64.StdEncoding.EncodeToString([]byte("\x00" + p.Email.Username + "\x00" + v)))
		add(base64.StdEncoding.EncodeToString([]byte(p.Email.Username + "\x00" + p.Email.Username + "\x00" + v)))
	}
	return strings.NewReplacer(pairs...)
}
