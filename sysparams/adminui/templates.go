package adminui

import (
	"fmt"
	"html/template"
	"strings"
	"time"
)

// pageNames are the page templates; each is parsed with layout.html and
// fields.html into its own set so that every page defines "content".
var pageNames = []string{"index", "error", "telephony", "email", "numbering_plan", "authentication", "proxy", "certificate", "cloud", "web_server"}

var templateFuncs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2 Jan 2006 15:04 UTC")
	},
	"join": strings.Join,
	"inc":  func(i int) int { return i + 1 },
	"split": func(s string) []string {
		v, l, _ := strings.Cut(s, "|")
		return []string{v, l}
	},
	"upper": strings.ToUpper,
	"ms": func(d time.Duration) string {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	},
}

func parseTemplates() (map[string]*template.Template, error) {
	out := make(map[string]*template.Template, len(pageNames))
	for _, n := range pageNames {
		t, err := template.New(n).Funcs(templateFuncs).ParseFS(templateFS, "templates/layout.html", "templates/fields.html", "templates/"+n+".html")
		if err != nil {
			return nil, fmt.Errorf("adminui: templates: %w", err)
		}
		out[n] = t
	}
	return out, nil
}
