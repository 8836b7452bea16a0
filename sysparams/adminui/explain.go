package adminui

import (
	"net/http"
	"strings"

	"github.com/ucxkit/ucxkit/numplan"
	"github.com/ucxkit/ucxkit/sysparams"
)

// explainView is the numbering plan's explain tool: the query and the
// trace of the stored plan.
type explainView struct {
	Number    string
	Primary   string
	Direction string
	Result    *numplan.Result
	Err       string
}

// Directions offered by the explain tool.
var explainDirections = []string{
	string(numplan.DirIn) + "|Incoming call (caller number)",
	string(numplan.DirOut) + "|Outgoing call (dial string)",
	string(numplan.DirTAPI) + "|TAPI called number",
	string(numplan.DirNormalize) + "|Normalize",
	string(numplan.DirClassify) + "|Classify",
}

// explainView runs the explain tool when the request asks for it
// (GET /numbering_plan/explain?number=...); it only reads.
func (h *handler) explainView(r *http.Request, p *sysparams.Params) *explainView {
	q := r.URL.Query()
	ev := &explainView{Number: q.Get("number"), Primary: q.Get("primary"), Direction: q.Get("direction")}
	if ev.Direction == "" {
		ev.Direction = string(numplan.DirIn)
	}
	if r.URL.Path != "/numbering_plan/explain" || strings.TrimSpace(ev.Number) == "" {
		return ev
	}
	ok := false
	for _, d := range explainDirections {
		if strings.HasPrefix(d, ev.Direction+"|") {
			ok = true
		}
	}
	if !ok {
		ev.Err = "direction must be in, out, tapi, normalize or classify"
		return ev
	}
	plan, err := p.Normalizer(numplan.Options{})
	if err != nil {
		ev.Err = "the stored numbering plan does not compile: " + err.Error()
		return ev
	}
	res := plan.Explain(numplan.Direction(ev.Direction), ev.Number, ev.Primary)
	ev.Result = &res
	if res.Err != nil {
		ev.Err = res.Err.Error()
	}
	return ev
}

// explain renders the numbering plan page with the trace.
func (h *handler) explain(w http.ResponseWriter, r *http.Request) {
	p, ok := h.load(w, r)
	if !ok {
		return
	}
	pg := h.sectionPage(r, sysparams.SectionNumberingPlan, p)
	h.render(w, r, http.StatusOK, sysparams.SectionNumberingPlan, pg)
}

// ExplainDirections lists the explain tool's directions for the template.
func (pg *page) ExplainDirections() []string { return explainDirections }
