package mailqueue

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"

	"github.com/ucxkit/ucxkit/internal/fielderr"
)

// Message is a mail as a UC application composes it: a voicemail or fax
// notification, a report, an alarm. Build turns it into RFC 5322 bytes
// ready for Enqueue.
//
// The output follows RFC 5322 and MIME (RFC 2045-2049): CRLF line endings
// only, no line longer than 998 octets (text and HTML are quoted-printable,
// RFC 2045 §6.7, so template bodies with bare LF or 20,000-character lines
// are safe; attachments are base64), RFC 2047 encoded-words for non-ASCII
// display names and subjects (the addresses themselves are untouched) and
// RFC 2231 parameters for non-ASCII file names.
type Message struct {
	// From is the author; its address is also the envelope sender.
	// Required.
	From mail.Address
	// To, Cc and Bcc are the recipients. Bcc appears only in the envelope,
	// never in the header. At least one recipient is required.
	To, Cc, Bcc []mail.Address
	// ReplyTo, when set, becomes the Reply-To field.
	ReplyTo []mail.Address
	// Subject may contain any Unicode text; it is encoded per RFC 2047.
	Subject string
	// Text is the plain-text body. Any line ending (LF, CR, CRLF) is
	// accepted and sent as CRLF.
	Text string
	// HTML is the HTML body. With Text it forms a multipart/alternative;
	// inline attachments (ContentID set) are attached to it in a
	// multipart/related part.
	HTML string
	// Attachments are files such as a .wav recording or a .pdf fax.
	Attachments []Attachment
	// Header holds extra fields (X-..., Auto-Submitted, ...). Fields that
	// Build writes itself (From, To, Subject, Content-*, ...) are refused.
	Header []HeaderField
	// MessageID is the Message-ID without angle brackets. Empty means Build
	// generates a random one at the From domain and stores it here, so
	// that every later Build (and every delivery retry of the built bytes)
	// carries the same ID.
	MessageID string
	// Date is the origination date. Zero means Build sets it to the current
	// time and stores it here.
	Date time.Time
}

// Attachment is one file of a Message.
type Attachment struct {
	// Filename is the name shown to the recipient; any Unicode is allowed
	// (RFC 2231 encoded). At most 255 bytes, no path separators.
	Filename string
	// ContentType is the media type ("audio/wav"). Empty means derived
	// from the file name's extension, else application/octet-stream.
	ContentType string
	// ContentID makes the attachment inline: the HTML body references it
	// as "cid:" + ContentID (for example a logo). Without HTML it is sent
	// as an ordinary inline part.
	ContentID string
	// Data is the file content.
	Data []byte
}

// HeaderField is one extra header field.
type HeaderField struct {
	Key   string
	Value string
}

// msgMediaTypes maps the extensions a UC application attaches to their media
// types, independent of the host's mime.types.
var msgMediaTypes = map[string]string{
	".wav":  "audio/wav",
	".mp3":  "audio/mpeg",
	".ogg":  "audio/ogg",
	".pdf":  "application/pdf",
	".tif":  "image/tiff",
	".tiff": "image/tiff",
	".png":  "image/png",
	".jpg":  "image/jpeg",
	".jpeg": "image/jpeg",
	".gif":  "image/gif",
	".txt":  "text/plain; charset=utf-8",
	".csv":  "text/csv; charset=utf-8",
	".html": "text/html; charset=utf-8",
	".ics":  "text/calendar; charset=utf-8",
	".zip":  "application/zip",
}

// msgReservedHeaders are written by Build itself.
var msgReservedHeaders = map[string]bool{
	"from": true, "to": true, "cc": true, "bcc": true, "reply-to": true, "subject": true,
	"date": true, "message-id": true, "mime-version": true, "sender": true,
}

// msgMaxFilename bounds attachment names so that their RFC 2231 form
// (up to 3 octets per byte) stays well inside one 998-octet line.
const msgMaxFilename = 255

// msgMaxWord bounds an unencodable run of non-space ASCII in the subject or an
// extra header: a longer word could not be folded under 998 octets.
const msgMaxWord = 900

// Envelope returns the SMTP envelope of m: From's address as reverse path,
// every To, Cc and Bcc address (duplicates removed) as forward paths.
func (m *Message) Envelope() Envelope {
	env := Envelope{From: m.From.Address}
	seen := map[string]bool{}
	for _, list := range [][]mail.Address{m.To, m.Cc, m.Bcc} {
		for _, a := range list {
			k := strings.ToLower(a.Address)
			if a.Address == "" || seen[k] {
				continue
			}
			seen[k] = true
			env.To = append(env.To, a.Address)
		}
	}
	return env
}

func msgCheckAddress(l *fielderr.List, field string, a mail.Address) {
	if a.Address == "" {
		l.Add(field, "address is required")
		return
	}
	if strings.ContainsAny(a.Address+a.Name, "\r\n\x00") {
		l.Add(field, "must not contain CR, LF or NUL")
		return
	}
	if !utf8.ValidString(a.Name) {
		l.Add(field, "display name must be valid UTF-8")
	}
	p, err := mail.ParseAddress("<" + a.Address + ">")
	if err != nil || p.Address != a.Address {
		l.Add(field, "invalid address %q", a.Address)
	}
}

func msgLongestWord(s string) int {
	n := 0
	for _, w := range strings.Fields(s) {
		if len(w) > n {
			n = len(w)
		}
	}
	return n
}

// Validate reports every problem of m, each naming its field.
func (m *Message) Validate() error {
	var l fielderr.List
	msgCheckAddress(&l, "from", m.From)
	if len(m.To)+len(m.Cc)+len(m.Bcc) == 0 {
		l.Add("to", "at least one recipient (to, cc or bcc) is required")
	}
	for name, list := range map[string][]mail.Address{"to": m.To, "cc": m.Cc, "bcc": m.Bcc, "reply_to": m.ReplyTo} {
		for i, a := range list {
			msgCheckAddress(&l, fmt.Sprintf("%s[%d]", name, i), a)
		}
	}
	if strings.ContainsAny(m.Subject, "\r\n\x00") {
		l.Add("subject", "must not contain CR, LF or NUL")
	} else if msgIsASCII(m.Subject) && msgLongestWord(m.Subject) > msgMaxWord {
		l.Add("subject", "has a word longer than %d characters", msgMaxWord)
	}
	if !utf8.ValidString(m.Subject) || !utf8.ValidString(m.Text) || !utf8.ValidString(m.HTML) {
		l.Add("body", "subject, text and html must be valid UTF-8")
	}
	for i, a := range m.Attachments {
		f := fmt.Sprintf("attachments[%d]", i)
		switch {
		case a.Filename == "" && a.ContentID == "":
			l.Add(f+".filename", "is required")
		case len(a.Filename) > msgMaxFilename:
			l.Add(f+".filename", "must be at most %d bytes, got %d", msgMaxFilename, len(a.Filename))
		case strings.ContainsAny(a.Filename, "/\\\r\n\x00") || !utf8.ValidString(a.Filename):
			l.Add(f+".filename", "must be a valid UTF-8 name without path separators or control characters, got %q", a.Filename)
		}
		if a.ContentType != "" {
			if _, _, err := mime.ParseMediaType(a.ContentType); err != nil {
				l.Add(f+".content_type", "invalid media type %q: %v", a.ContentType, err)
			}
		}
		if a.ContentID != "" && (strings.ContainsAny(a.ContentID, "<> \t\r\n\x00") || !msgIsASCII(a.ContentID)) {
			l.Add(f+".content_id", "must be ASCII without spaces or angle brackets, got %q", a.ContentID)
		}
	}
	for i, h := range m.Header {
		f := fmt.Sprintf("header[%d]", i)
		if !msgValidFieldName(h.Key) {
			l.Add(f+".key", "invalid header field name %q", h.Key)
		} else if k := strings.ToLower(h.Key); msgReservedHeaders[k] || strings.HasPrefix(k, "content-") {
			l.Add(f+".key", "%s is written by Build", h.Key)
		}
		if strings.ContainsAny(h.Value, "\r\n\x00") {
			l.Add(f+".value", "must not contain CR, LF or NUL")
		} else if msgIsASCII(h.Value) && msgLongestWord(h.Value) > msgMaxWord {
			l.Add(f+".value", "has a word longer than %d characters", msgMaxWord)
		}
	}
	if strings.ContainsAny(m.MessageID, "<> \t\r\n") || (m.MessageID != "" && !strings.Contains(m.MessageID, "@")) {
		l.Add("message_id", "must be id-left@id-right without angle brackets, got %q", m.MessageID)
	}
	return fielderr.Prefix("message", l.Err())
}

// msgValidFieldName checks RFC 5322 §3.6.8 ftext.
func msgValidFieldName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 33 || k[i] > 126 || k[i] == ':' {
			return false
		}
	}
	return true
}

func msgIsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// msgNewID returns a random, globally unique Message-ID at domain.
func msgNewID(domain string, now time.Time) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%d.%s@%s", now.Unix(), hex.EncodeToString(b[:]), domain)
}

// msgNormalizeNewlines turns CRLF and lone CR into LF; the quoted-printable
// encoder then writes every line break as CRLF.
func msgNormalizeNewlines(s string) string {
	if !strings.Contains(s, "\r") {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

// msgNode is one MIME entity being assembled.
type msgNode struct {
	header   message.Header
	body     []byte
	children []*msgNode
}

func msgTextNode(mediaType, s string) *msgNode {
	var h message.Header
	h.SetContentType(mediaType, map[string]string{"charset": "utf-8"})
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	return &msgNode{header: h, body: []byte(msgNormalizeNewlines(s))}
}

func msgMultipartNode(sub string, children ...*msgNode) *msgNode {
	var h message.Header
	h.SetContentType("multipart/"+sub, nil)
	return &msgNode{header: h, children: children}
}

func msgAttachmentNode(a Attachment) *msgNode {
	ct := a.ContentType
	if ct == "" {
		ct = msgMediaTypes[strings.ToLower(filepath.Ext(a.Filename))]
	}
	if ct == "" {
		ct = mime.TypeByExtension(strings.ToLower(filepath.Ext(a.Filename)))
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	mt, params, _ := mime.ParseMediaType(ct)
	if params == nil {
		params = map[string]string{}
	}
	if a.Filename != "" {
		params["name"] = a.Filename
	}
	var h message.Header
	h.SetContentType(mt, params)
	h.Set("Content-Transfer-Encoding", "base64")
	disp := "attachment"
	if a.ContentID != "" {
		disp = "inline"
		h.Set("Content-ID", "<"+a.ContentID+">")
	}
	// RFC 2231 (filename*=utf-8''...) for the disposition; the Content-Type
	// name parameter above is RFC 2047-encoded by go-message for older
	// clients (Outlook reads it), as Thunderbird does.
	dp := map[string]string{}
	if a.Filename != "" {
		dp["filename"] = a.Filename
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disp, dp))
	return &msgNode{header: h, body: a.Data}
}

func msgWriteNode(parent *message.Writer, n *msgNode) error {
	w, err := parent.CreatePart(n.header)
	if err != nil {
		return err
	}
	if err := msgWriteBody(w, n); err != nil {
		return err
	}
	return w.Close()
}

func msgWriteBody(w *message.Writer, n *msgNode) error {
	if n.children == nil {
		_, err := w.Write(n.body)
		return err
	}
	for _, c := range n.children {
		if err := msgWriteNode(w, c); err != nil {
			return err
		}
	}
	return nil
}

// Build returns the message as RFC 5322 bytes. It validates m first. When
// MessageID or Date is empty, Build sets it on m, so the values are fixed at
// the first Build: build once, then Enqueue the bytes, and every retry sends
// identical bytes.
func (m *Message) Build() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if m.Date.IsZero() {
		m.Date = time.Now().Truncate(time.Second)
	}
	if m.MessageID == "" {
		domain := "localhost"
		if i := strings.LastIndexByte(m.From.Address, '@'); i >= 0 && i+1 < len(m.From.Address) {
			domain = m.From.Address[i+1:]
		}
		m.MessageID = msgNewID(domain, m.Date)
	}

	// Body tree: text/html alternative, HTML related to its inline
	// images, everything mixed with the attachments.
	var inline, files []Attachment
	for _, a := range m.Attachments {
		if a.ContentID != "" && m.HTML != "" {
			inline = append(inline, a)
		} else {
			files = append(files, a)
		}
	}
	var htmlPart *msgNode
	if m.HTML != "" {
		htmlPart = msgTextNode("text/html", m.HTML)
		if len(inline) > 0 {
			kids := []*msgNode{htmlPart}
			for _, a := range inline {
				kids = append(kids, msgAttachmentNode(a))
			}
			htmlPart = msgMultipartNode("related", kids...)
			htmlPart.header.SetContentType("multipart/related", map[string]string{"type": "text/html"})
		}
	}
	var body *msgNode
	switch {
	case htmlPart != nil && m.Text != "":
		body = msgMultipartNode("alternative", msgTextNode("text/plain", m.Text), htmlPart)
	case htmlPart != nil:
		body = htmlPart
	default:
		body = msgTextNode("text/plain", m.Text)
	}
	if len(files) > 0 {
		kids := []*msgNode{body}
		for _, a := range files {
			kids = append(kids, msgAttachmentNode(a))
		}
		body = msgMultipartNode("mixed", kids...)
	}

	// Header: go-message writes fields in reverse order of addition, so
	// add them bottom-up to obtain the conventional order.
	var h gomail.Header
	fields := body.header.Fields()
	var content []HeaderField
	for fields.Next() {
		content = append(content, HeaderField{fields.Key(), fields.Value()})
	}
	for i := len(content) - 1; i >= 0; i-- {
		h.Add(content[i].Key, content[i].Value)
	}
	h.Set("MIME-Version", "1.0")
	for i := len(m.Header) - 1; i >= 0; i-- {
		f := m.Header[i]
		v := f.Value
		if !msgIsASCII(v) {
			v = mime.QEncoding.Encode("utf-8", v)
		}
		h.Add(f.Key, v)
	}
	h.SetMessageID(m.MessageID)
	h.SetDate(m.Date)
	h.SetSubject(m.Subject)
	addrs := func(key string, list []mail.Address) {
		if len(list) == 0 {
			return
		}
		ptrs := make([]*gomail.Address, len(list))
		for i := range list {
			ptrs[i] = &list[i]
		}
		h.SetAddressList(key, ptrs)
	}
	addrs("Reply-To", m.ReplyTo)
	addrs("Cc", m.Cc)
	addrs("To", m.To)
	addrs("From", []mail.Address{m.From})

	var buf bytes.Buffer
	w, err := message.CreateWriter(&buf, h.Header)
	if err != nil {
		return nil, fmt.Errorf("mailqueue: build message: %w", err)
	}
	if err := msgWriteBody(w, body); err != nil {
		return nil, fmt.Errorf("mailqueue: build message: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("mailqueue: build message: %w", err)
	}
	out := buf.Bytes()
	if err := CheckWireFormat(out); err != nil {
		return nil, fmt.Errorf("mailqueue: build message: %w", err)
	}
	return out, nil
}

// Errors of CheckWireFormat.
var (
	// ErrBareLineBreak means a CR or LF that is not part of a CRLF pair.
	ErrBareLineBreak = errors.New("mailqueue: bare CR or LF (RFC 5322 §2.3)")
	// ErrLineTooLong means a line longer than 998 octets without CRLF.
	ErrLineTooLong = errors.New("mailqueue: line longer than 998 octets (RFC 5322 §2.1.1)")
)

// CheckWireFormat verifies that b uses CRLF line endings only and has no
// line longer than 998 octets, the two RFC 5322 rules that SMTP servers
// enforce (554 5.6.11 for bare LF). It reports the first violation with its
// line number.
func CheckWireFormat(b []byte) error {
	line, start := 1, 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '\r':
			if i+1 >= len(b) || b[i+1] != '\n' {
				return fmt.Errorf("%w at line %d", ErrBareLineBreak, line)
			}
			if i-start > 998 {
				return fmt.Errorf("%w at line %d (%d octets)", ErrLineTooLong, line, i-start)
			}
			i++
			line++
			start = i + 1
		case '\n':
			return fmt.Errorf("%w at line %d", ErrBareLineBreak, line)
		}
	}
	if len(b)-start > 998 {
		return fmt.Errorf("%w at line %d (%d octets)", ErrLineTooLong, line, len(b)-start)
	}
	return nil
}
