package adminui

import (
	"errors"
	"net/http"

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

// secretScrubber replaces the email secrets of p with "[REDACTED]" (see
// sysparams.Params.RedactEmailSecrets); the page applies it again to every
// text it shows from a test, as a second line of defence.
func secretScrubber(p *sysparams.Params) interface{ Replace(string) string } {
	return redactor{p}
}

type redactor struct{ p *sysparams.Params }

func (r redactor) Replace(s string) string { return r.p.RedactEmailSecrets(s) }
