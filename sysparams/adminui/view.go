package adminui

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ucxkit/ucxkit/internal/fielderr"
	"github.com/ucxkit/ucxkit/sysparams"
)

// sectionInfo describes one entry of the "System parameters" list.
type sectionInfo struct {
	name  string
	title string
	form  bool // has a GET/POST page of its own
}

// sections are the seed's list, in page order.
var sections = []sectionInfo{
	{sysparams.SectionTelephony, "IP Telephony system parameters", true},
	{sysparams.SectionEmail, "Outgoing email parameters", true},
	{sysparams.SectionNumberingPlan, "Numbering plan parameters", true},
	{sysparams.SectionAuthentication, "Users authentication settings", true},
	{sysparams.SectionProxy, "Proxy settings", true},
	{sysparams.SectionCertificate, "Secure communications certificate", true},
	{sysparams.SectionCloud, "Cloud services authentication data", true},
	{sysparams.SectionWebServer, "Web server settings", true},
}

func sectionByName(name string) sectionInfo {
	for _, s := range sections {
		if s.name == name {
			return s
		}
	}
	return sectionInfo{name: name, title: name}
}

// problem is one validation problem as the page shows it.
type problem struct {
	Field   string // dotted path, "" for a problem without a field
	Message string // "field: problem", the text Validate produced
	Problem string // the problem alone, shown next to the field
	Section string // the section the field belongs to
	Anchor  string // element id of the field on its page
}

// page is the data of every template. Exported fields and methods are
// what the templates read.
type page struct {
	h       *handler
	Base    string
	Product string
	Title   string
	Section string
	CSRF    string
	Message string
	Code    int
	P       *sysparams.Params
	// stored is the parameters as stored, when P is a refused or tested
	// candidate; nil means P is what is stored. Password fields report
	// the stored secrets, never the candidate's.
	stored   *sysparams.Params
	Flash    *flash
	Problems []problem
	Cert     *certView
	Test     *sysparams.EmailTest
	TestErr  string
	Explain  *explainView
	// Refused is true when the page shows a change that was not saved.
	Refused bool
	// DefaultURL is the web server URL in effect.
	DefaultURL string
	// Conflict is true when a save was refused because someone else
	// saved the section after the form was loaded.
	Conflict bool
}

// Stamp is the stamp of the stored section for the form's hidden field
// (stored, not a refused candidate: the form is based on what is stored).
func (pg *page) Stamp() string {
	if pg.Section == "" || pg.h == nil {
		return ""
	}
	p := pg.P
	if pg.stored != nil {
		p = pg.stored
	}
	if p == nil {
		return ""
	}
	return pg.h.stamp(p, pg.Section)
}

// setProblems records the problems of err (a *sysparams.ValidationError
// or joined *FieldError values).
func (pg *page) setProblems(err error) {
	var leaves []error
	var verr *sysparams.ValidationError
	if errors.As(err, &verr) {
		for _, fe := range verr.Problems() {
			leaves = append(leaves, fe)
		}
	} else {
		leaves = fielderr.Flatten(err)
	}
	for _, e := range leaves {
		var fe *sysparams.FieldError
		pr := problem{Message: e.Error(), Problem: e.Error()}
		if errors.As(e, &fe) {
			pr.Field, pr.Problem = fe.Field, fe.Problem
			pr.Section, _, _ = strings.Cut(fe.Field, ".")
			pr.Anchor = fieldID(baseField(fe.Field))
		}
		pg.Problems = append(pg.Problems, pr)
	}
}

// Sections returns the section list for the index page and navigation.
func (pg *page) Sections() []SectionLink {
	out := make([]SectionLink, 0, len(sections))
	for _, s := range sections {
		l := SectionLink{Name: s.name, Title: s.title, URL: pg.h.url("/" + s.name), Current: s.name == pg.Section}
		for _, pr := range pg.Problems {
			if pr.Section == s.name {
				l.Problems++
			}
		}
		if pg.P != nil {
			l.Summary = summary(pg.P, s.name)
			if s.name == sysparams.SectionCertificate && pg.Section == "" && pg.h != nil {
				// The index shows the certificate's state, as the seed's
				// page does; other pages only need the titles.
				l.Summary = certSummary(pg.h.certView(pg.P), l.Summary)
			}
		}
		out = append(out, l)
	}
	return out
}

// SectionLink is one entry of the section list.
type SectionLink struct {
	Name, Title, URL, Summary string
	Current                   bool
	Problems                  int
}

// URL returns the browser path of a handler path.
func (pg *page) URL(p string) string { return pg.h.url(p) }

// ProblemLink returns where a problem's summary entry links: the field on
// this page, or the page of its section.
func (pg *page) ProblemLink(pr problem) string {
	if pr.Section == pg.Section && pr.Anchor != "" {
		return "#" + pr.Anchor
	}
	if pr.Section != "" && sectionByName(pr.Section).form {
		return pg.h.url("/" + pr.Section)
	}
	return ""
}

// Errs returns the problems of the field at path (and of its list
// elements, "path[2]"), for display next to the field.
func (pg *page) Errs(path string) []string {
	var out []string
	for _, pr := range pg.Problems {
		if pr.Field == path {
			out = append(out, pr.Problem)
		} else if strings.HasPrefix(pr.Field, path+"[") {
			out = append(out, pr.Field[len(path):]+": "+pr.Problem)
		}
	}
	return out
}

// Field is the view of one form control.
type Field struct {
	Kind    string // text, number, password, checkbox, select, textarea, url, email
	Name    string // dotted JSON path, also the form field name
	ID      string
	Label   string
	Value   string
	Checked bool
	Hint    string
	Stored  bool // password: a value is stored
	Options []Option
	Errs    []string
}

// Option is one choice of a select or radio group.
type Option struct {
	Value, Label string
	Selected     bool
}

func fieldID(path string) string {
	r := strings.NewReplacer(".", "-", "[", "-", "]", "")
	return "f-" + r.Replace(path)
}

// baseField strips list indexes: "x.y[2]" → "x.y".
func baseField(path string) string {
	if i := strings.IndexByte(path, '['); i >= 0 {
		return path[:i]
	}
	return path
}

func (pg *page) field(kind, path, label string, value any, hint string) Field {
	f := Field{Kind: kind, Name: path, ID: fieldID(path), Label: label, Hint: hint, Errs: pg.Errs(path)}
	switch v := value.(type) {
	case bool:
		f.Checked = v
	case []string:
		f.Value = strings.Join(v, "\n")
	case int:
		if v != 0 {
			f.Value = fmt.Sprint(v)
		}
	case nil:
	default:
		f.Value = fmt.Sprint(v)
	}
	return f
}

// Text is a single-line text input.
func (pg *page) Text(path, label string, value any, hint string) Field {
	return pg.field("text", path, label, value, hint)
}

// Number is a numeric input.
func (pg *page) Number(path, label string, value int, hint string) Field {
	return pg.field("number", path, label, value, hint)
}

// Check is a checkbox.
func (pg *page) Check(path, label string, checked bool, hint string) Field {
	return pg.field("checkbox", path, label, checked, hint)
}

// Area is a textarea with one list entry per line.
func (pg *page) Area(path, label string, lines []string, hint string) Field {
	return pg.field("textarea", path, label, lines, hint)
}

// Password is a password input that is always rendered empty: a stored
// secret is never sent back, only the fact that one is stored. After a
// refused save, a value typed into it is not shown again either; the
// hint asks for it once more.
func (pg *page) Password(path, label string) Field {
	f := pg.field("password", path, label, nil, "")
	stored := pg.P
	if pg.stored != nil {
		stored = pg.stored
	}
	cur := secretAt(stored, path)
	f.Stored = cur.IsSet()
	if f.Stored {
		f.Hint = "A value is stored. Leave empty to keep it."
		if len(f.Errs) > 0 {
			f.Hint = "A value is stored."
		}
	}
	if pg.stored != nil && secretAt(pg.P, path) != cur && secretAt(pg.P, path).IsSet() {
		f.Hint = "The value you typed was not saved; type it again."
	}
	return f
}

// secretAt returns the secret at a dotted path of p.
func secretAt(p *sysparams.Params, path string) sysparams.Secret {
	switch path {
	case "email.password":
		return p.Email.Password
	case "email.o365.client_secret":
		return p.Email.O365.ClientSecret
	case "proxy.http.password":
		return p.Proxy.HTTP.Password
	case "proxy.socks.password":
		return p.Proxy.SOCKS.Password
	case "cloud.client_secret":
		return p.Cloud.ClientSecret
	}
	return sysparams.NewSecret("")
}

// Select is a drop-down; choices are "value|label" or "value".
func (pg *page) Select(path, label string, value any, choices ...string) Field {
	f := pg.field("select", path, label, nil, "")
	cur := fmt.Sprint(value)
	found := false
	for _, c := range choices {
		v, l, ok := strings.Cut(c, "|")
		if !ok {
			l = v
		}
		f.Options = append(f.Options, Option{Value: v, Label: l, Selected: v == cur})
		found = found || v == cur
	}
	if !found && cur != "" {
		f.Options = append(f.Options, Option{Value: cur, Label: cur + " (current)", Selected: true})
	}
	return f
}

// HasProblems reports whether the page shows validation problems.
func (pg *page) HasProblems() bool { return len(pg.Problems) > 0 }

// certSummary is the certificate's state for the section list: "valid,
// expires 3 Dec 2031 (1826 days left)" or "missing", then the settings.
func certSummary(cv *certView, settings string) string {
	st := cv.Status
	if !cv.Exists {
		return fmt.Sprintf("%s (%s)", st.State, settings)
	}
	return fmt.Sprintf("%s, expires %s (%d days left); %s", st.State, st.NotAfter.UTC().Format("2 Jan 2006"), st.DaysLeft, settings)
}

// orderLabels are the seed's names of the authentication orders.
var orderLabels = map[string]string{
	"sso>ldap>local":     "SSO > AD/LDAP > Local",
	"sso>ucm>local":      "SSO > Cisco UCM > Local",
	"sso>local":          "SSO > Local",
	"sso>ldap>ucm>local": "SSO > AD/LDAP > Cisco UCM > Local",
	"sso>ucm>ldap>local": "SSO > Cisco UCM > AD/LDAP > Local",
}

// summary is the one-line state of a section on the index page.
func summary(p *sysparams.Params, section string) string {
	switch section {
	case sysparams.SectionTelephony:
		if p.Telephony.SystemName == "" {
			return "not configured"
		}
		return p.Telephony.SystemName + " — PBX " + p.Telephony.PBXAddress
	case sysparams.SectionEmail:
		if !p.Email.Enabled {
			return "disabled"
		}
		if p.Email.Protocol == sysparams.ProtocolO365 {
			return "Office 365 as " + p.Email.O365.Address
		}
		return fmt.Sprintf("SMTP %s:%d", p.Email.Server, p.Email.Port)
	case sysparams.SectionNumberingPlan:
		if p.NumberingPlan.UseDefaults {
			return "default settings"
		}
		return fmt.Sprintf("%d internal patterns", len(p.NumberingPlan.InternalPatterns))
	case sysparams.SectionAuthentication:
		o := string(p.Authentication.Order)
		if l, ok := orderLabels[o]; ok {
			o = l
		}
		if p.Authentication.RememberUser {
			return o + "; users remembered"
		}
		return o
	case sysparams.SectionProxy:
		var parts []string
		if p.Proxy.HTTP.Enabled() {
			parts = append(parts, "HTTP "+p.Proxy.HTTP.HostPort())
		}
		if p.Proxy.SOCKS.Enabled() {
			parts = append(parts, "SOCKS "+p.Proxy.SOCKS.HostPort())
		}
		if len(parts) == 0 {
			return "no proxy"
		}
		return strings.Join(parts, ", ")
	case sysparams.SectionCertificate:
		return fmt.Sprintf("%s, %d years", p.Certificate.KeyType, p.Certificate.ValidityYears)
	case sysparams.SectionCloud:
		if p.Cloud.ClientID != "" {
			return "Credentials saved using Client ID: " + p.Cloud.ClientID
		}
		return "not configured"
	case sysparams.SectionWebServer:
		if p.WebServer.BaseURL == "" {
			return "default URL"
		}
		return p.WebServer.BaseURL
	}
	return ""
}
