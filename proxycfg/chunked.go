package proxycfg

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// chunkedReader decodes an HTTP/1.1 chunked body (RFC 9112 §7.1), enough to
// keep the start of a proxy's error page; trailers are ignored.
type chunkedReader struct {
	r    *bufio.Reader
	left int64
	eof  bool
}

func newChunkedReader(r *bufio.Reader) io.Reader { return &chunkedReader{r: r} }

func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.eof {
		return 0, io.EOF
	}
	if c.left == 0 {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return 0, err
		}
		line = strings.TrimSpace(line)
		if i := strings.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		n, err := strconv.ParseInt(strings.TrimSpace(line), 16, 64)
		if err != nil || n < 0 {
			return 0, io.ErrUnexpectedEOF
		}
		if n == 0 {
			c.eof = true
			return 0, io.EOF
		}
		c.left = n
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left == 0 && err == nil {
		// Chunk data is followed by CRLF.
		if _, err := c.r.Discard(2); err != nil {
			return n, err
		}
	}
	return n, err
}
