package adminui

import (
	"errors"
	"net/http"
	"os"
	"regexp"

	"github.com/ucxkit/ucxkit/certgen"
	"github.com/ucxkit/ucxkit/sysparams"
)

// certView is the certificate page's status block.
type certView struct {
	Dir    string
	Status certgen.Status
	Err    string
	Exists bool
}

// certOptions returns the certgen options of the parameters for this host.
func (h *handler) certOptions(p *sysparams.Params) (certgen.Options, error) {
	o, err := p.CertificateOptions(h.hostname())
	if err != nil {
		return o, err
	}
	o.Now = h.now
	o.Logger = h.log
	return o, nil
}

// certView inspects the certificate folder without changing anything.
func (h *handler) certView(p *sysparams.Params) *certView {
	cv := &certView{Dir: p.Certificate.Dir(h.certDir)}
	o, err := h.certOptions(p)
	if err != nil {
		cv.Err = err.Error()
		return cv
	}
	st, err := certgen.Inspect(cv.Dir, o)
	cv.Status = st
	if err != nil {
		cv.Err = err.Error()
	}
	cv.Exists = st.State != certgen.StateMissing && st.Subject != ""
	return cv
}

// safeFileName keeps a download name to letters, digits, '-', '_' and '.'.
var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// downloadCert serves the certificate (never the key) as a .pem
// attachment named after the computer.
func (h *handler) downloadCert(w http.ResponseWriter, r *http.Request) {
	p, ok := h.load(w, r)
	if !ok {
		return
	}
	pair, err := certgen.Load(p.Certificate.Dir(h.certDir))
	if err != nil {
		code := http.StatusInternalServerError
		msg := "The certificate could not be read: " + err.Error()
		if errors.Is(err, certgen.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			code, msg = http.StatusNotFound, "There is no certificate yet. Generate it on the certificate page."
		}
		h.errorPage(w, r, code, msg)
		return
	}
	name := unsafeFileChars.ReplaceAllString(h.hostname(), "_")
	if name == "" {
		name = "certificate"
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.pem"`)
	_, _ = w.Write(pair.CertPEM())
}

// regenerate creates the pair when there is none, else renews it for
// another validity period with the current settings (certgen.RenewDir).
func (h *handler) regenerate(w http.ResponseWriter, r *http.Request) {
	p, ok := h.load(w, r)
	if !ok {
		return
	}
	o, err := h.certOptions(p)
	if err != nil {
		h.errorPage(w, r, http.StatusInternalServerError, "Certificate options: "+err.Error())
		return
	}
	dir := p.Certificate.Dir(h.certDir)
	st, _ := certgen.Inspect(dir, o)
	done := "regenerated"
	var pair *certgen.Pair
	if st.State == certgen.StateMissing {
		pair, st, err = certgen.Ensure(dir, o)
		done = "created"
	} else {
		pair, st, err = certgen.RenewDir(dir, o)
	}
	if err != nil {
		h.log.Error("adminui: certificate", "action", done, "err", err)
		h.errorPage(w, r, http.StatusInternalServerError, "The certificate could not be generated: "+err.Error())
		return
	}
	h.log.Info("adminui: certificate "+done, "serial", pair.Serial(), "not_after", st.NotAfter)
	http.Redirect(w, r, h.url("/certificate")+"?"+h.signFlash("/certificate", "done="+done), http.StatusSeeOther)
}
