package api

import (
	"bytes"
	"net"
)

// net/http answers some requests before any handler sees them: 431 when
// the request line and headers exceed http.Server.MaxHeaderBytes, 400
// for a malformed request, a missing or second Host header or a bad
// Host, 501 for an unknown transfer coding, 505 for an unsupported
// version, 417 for an unknown Expect. It writes those to the connection
// itself, without the security headers, and nothing in http.Server
// hooks into them. Listener wraps each accepted connection so that a
// response head leaving without a Content-Security-Policy gets the
// security headers inserted after its status line. Every response the
// handlers write already has them (securityHeaders) and passes
// unchanged; so do 1xx responses, the websocket's 101 among them, and
// everything after the head.
//
// This relies on net/http writing each response head at the start of a
// Write, whole: it flushes its buffer at the end of every response, and
// writes its own error responses with one Fprintf. Were that to change,
// TestServerOwnResponsesCarryHeaders fails rather than the headers going
// missing silently.

// Listener returns ln with the security headers added to the responses
// net/http writes by itself. Serve plain HTTP from it: the bytes are
// read as HTTP/1.1, so it must sit below any TLS.
func Listener(ln net.Listener) net.Listener { return headerListener{ln} }

type headerListener struct{ net.Listener }

func (l headerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &headerConn{Conn: c}, nil
}

// headerConn is a connection whose response heads are checked for the
// security headers.
type headerConn struct{ net.Conn }

// securityHeaderBlock is the security headers as raw header lines.
var securityHeaderBlock = func() []byte {
	var b bytes.Buffer
	for _, kv := range securityHeaderList {
		b.WriteString(kv[0] + ": " + kv[1] + "\r\n")
	}
	return b.Bytes()
}()

func (c *headerConn) Write(p []byte) (int, error) {
	if out, ok := withSecurityHeaders(p); ok {
		if _, err := c.Conn.Write(out); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// withSecurityHeaders returns p with the security headers after the
// status line when p starts with a whole non-1xx response head that
// lacks them.
func withSecurityHeaders(p []byte) ([]byte, bool) {
	if !bytes.HasPrefix(p, []byte("HTTP/1.")) || len(p) < 13 || p[9] == '1' {
		return nil, false
	}
	end := bytes.Index(p, []byte("\r\n\r\n"))
	if end < 0 {
		return nil, false
	}
	head := p[:end+2]
	if bytes.Contains(head, []byte("\r\nContent-Security-Policy:")) {
		return nil, false
	}
	line := bytes.Index(p, []byte("\r\n")) + 2
	out := make([]byte, 0, len(p)+len(securityHeaderBlock))
	out = append(out, p[:line]...)
	out = append(out, securityHeaderBlock...)
	return append(out, p[line:]...), true
}

// CloseWrite lets net/http half-close the connection after an error, as
// it does on a bare TCP connection, so the client reads the answer
// before the reset.
func (c *headerConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
