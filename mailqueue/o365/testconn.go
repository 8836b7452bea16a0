package o365

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ucxkit/ucxkit/mailqueue"
)

// StepStatus is the outcome of one TestConnection step.
type StepStatus string

// Step outcomes.
const (
	StepOK      StepStatus = "ok"
	StepWarning StepStatus = "warning" // works, but something deserves a look
	StepFailed  StepStatus = "failed"
	StepSkipped StepStatus = "skipped" // could not be checked
)

// Step is one checked stage of TestConnection.
type Step struct {
	// Name is "token", "permission", "mailbox", "connect", "auth", ...
	Name string `json:"name"`
	// Status is ok, warning, failed or skipped.
	Status StepStatus `json:"status"`
	// Detail says what was found, free of secrets and tokens.
	Detail string `json:"detail"`
	// Elapsed is how long the step took.
	Elapsed time.Duration `json:"elapsed"`
}

// Report is the result of TestConnection, step by step.
type Report struct {
	// Mode is the sending mode tested.
	Mode Mode `json:"mode"`
	// Cloud is the Microsoft cloud whose endpoints are in use.
	Cloud Cloud `json:"cloud"`
	// TokenURL is the token endpoint asked.
	TokenURL string `json:"token_url"`
	// Scope is the token scope requested.
	Scope string `json:"scope"`
	// Steps lists the checked stages in order; a failed one is last.
	Steps []Step `json:"steps"`
	// OK is true when no step failed.
	OK bool `json:"ok"`
}

// String renders one line per step: "token: ok (detail)".
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "o365 %s (%s cloud)\n", r.Mode, r.Cloud)
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "  %-10s %-7s %s\n", s.Name, s.Status, s.Detail)
	}
	if r.OK {
		b.WriteString("result: ok\n")
	} else {
		b.WriteString("result: failed\n")
	}
	return b.String()
}

// requiredRoles are the application permissions each mode needs; any one
// of the listed roles suffices.
var requiredRoles = map[Mode][]string{
	ModeGraph: {"Mail.Send"},
	ModeSMTP:  {"SMTP.SendAsApp"},
	ModeEWS:   {"full_access_as_app", "EWS.AccessAsApp"},
}

// TestConnection checks the configuration without sending a message:
// the token is fetched, its application permissions are read, and the
// sender mailbox is probed (Graph: the user object; EWS: the Sent Items
// folder with impersonation; SMTP: connect, STARTTLS and AUTH XOAUTH2).
// The error is the *mailqueue.DeliveryError of the first failed step.
func (s *Sender) TestConnection(ctx context.Context) (Report, error) {
	rep := Report{Mode: s.cfg.Mode, Cloud: s.cfg.Cloud, TokenURL: s.cfg.tokenURL, Scope: s.tokens.scope}
	if s.closed.Load() {
		return rep, deliveryErr(mailqueue.ClassTransport, "send", 0, "", 0, ErrClosed)
	}
	add := func(name string, st StepStatus, start time.Time, format string, args ...any) {
		rep.Steps = append(rep.Steps, Step{Name: name, Status: st, Detail: fmt.Sprintf(format, args...), Elapsed: time.Since(start)})
	}
	fail := func(name string, start time.Time, err error) (Report, error) {
		add(name, StepFailed, start, "%s", err.Error())
		return rep, err
	}

	start := time.Now()
	tok, err := s.tokens.Token(ctx)
	if err != nil {
		return fail("token", start, err)
	}
	add("token", StepOK, start, "token for %s from %s", s.tokens.scope, s.cfg.tokenURL)

	start = time.Now()
	if c, ok := ParseClaims(tok); !ok {
		add("permission", StepSkipped, start, "the token is not a JWT; permissions cannot be read from it")
	} else {
		need := requiredRoles[s.cfg.Mode]
		has := slices.ContainsFunc(need, func(r string) bool { return slices.Contains(c.Roles, r) })
		if has {
			add("permission", StepOK, start, "application permission %s granted (roles: %s)", strings.Join(need, " or "), strings.Join(c.Roles, " "))
		} else {
			add("permission", StepWarning, start,
				"the token carries no %s role (roles: %s); sending works only if access is granted through RBAC for Applications, otherwise grant the permission with admin consent",
				strings.Join(need, " or "), or(strings.Join(c.Roles, " "), "none"))
		}
	}

	switch s.cfg.Mode {
	case ModeGraph:
		start = time.Now()
		st, detail, err := s.probeGraphMailbox(ctx)
		if err != nil {
			return fail("mailbox", start, err)
		}
		add("mailbox", st, start, "%s", detail)
	case ModeEWS:
		start = time.Now()
		err := s.ewsCall(ctx, "GetFolder", ewsEnvelope(s.cfg.Sender, getFolderBody))
		if err != nil {
			return fail("mailbox", start, err)
		}
		add("mailbox", StepOK, start, "mailbox %s reachable with impersonation at %s", s.cfg.Sender, s.cfg.ewsURL)
	case ModeSMTP:
		steps, err := s.smtp.test(ctx)
		rep.Steps = append(rep.Steps, steps...)
		if err != nil {
			return rep, err
		}
	}
	rep.OK = true
	return rep, nil
}

// probeGraphMailbox reads the sender's user object. Reading needs
// User.Read.All, which sending does not: a 403 is reported as skipped.
func (s *Sender) probeGraphMailbox(ctx context.Context) (StepStatus, string, error) {
	var st StepStatus
	var detail string
	err := s.withToken(ctx, s.tokens, func(tok string) (bool, error) {
		resp, err := s.do(ctx, "graph", http.MethodGet, s.cfg.userURL+"?$select=id,mail,userPrincipalName", tok, nil, nil)
		if err != nil {
			return false, err
		}
		switch resp.status {
		case http.StatusOK:
			st, detail = StepOK, "mailbox "+s.cfg.Sender+" found (sending permission is proven only by sending)"
			return false, nil
		case http.StatusForbidden:
			st, detail = StepSkipped, "cannot read the mailbox: that needs User.Read.All, which sending does not; Mail.Send is proven only by sending"
			return false, nil
		case http.StatusUnauthorized:
			return true, s.graphError(resp)
		}
		return false, s.graphError(resp)
	})
	return st, detail, err
}
