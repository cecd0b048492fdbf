// Package faultproxy is an in-process HTTP reverse proxy for tests in front
// of an S3 server (path-style requests). It counts requests by S3 operation
// and injects faults: a request body cut off mid-way, 503 SlowDown, a reset
// connection, a response dropped after the request was forwarded.
package faultproxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	gosync "sync"
	"time"
)

// Action is a fault.
type Action string

const (
	// CutBody forwards CutAfter bytes of the request body to the server,
	// then breaks both connections: the server sees a truncated body.
	CutBody Action = "cut-body"
	// SlowDown answers 503 SlowDown without forwarding.
	SlowDown Action = "slowdown"
	// Reset closes the client connection (RST) without forwarding.
	Reset Action = "reset"
	// DropResponse forwards the request, lets the server complete it, then
	// closes the client connection without a response.
	DropResponse Action = "drop-response"
	// Respond answers with Rule.Status and an S3 error Rule.Code without
	// forwarding (e.g. 404 NoSuchUpload).
	Respond Action = "respond"
	// CutResponse relays the response head and CutAfter body bytes, then
	// hangs up (a download broken mid-way).
	CutResponse Action = "cut-response"
)

// Rule injects Action on requests of operation Op ("" = any).
type Rule struct {
	Op     string
	Action Action
	// Times limits how often the rule fires; 0 = no limit.
	Times int
	// Fraction is the share of matching requests that get the fault, spread
	// evenly and deterministically (0.2 = every fifth); 0 = every one.
	Fraction float64
	// CutAfter is how many body bytes CutBody forwards / CutResponse relays.
	CutAfter int64
	// MinBody fires the rule only on requests whose body is at least this long.
	MinBody int64
	// Status and Code are Respond's answer.
	Status int
	Code   string
	// Header, if set, fires the rule only on requests carrying this header
	// ("X-Amz-Checksum-Crc64nvme"), or with this value ("Name=value", any case).
	Header string
}

func (r Rule) headerMatches(h http.Header) bool {
	if r.Header == "" {
		return true
	}
	name, value, hasValue := strings.Cut(r.Header, "=")
	got := h.Get(name)
	if !hasValue {
		return got != ""
	}
	return strings.EqualFold(got, value)
}

type rule struct {
	Rule
	fired int
	acc   float64 // error diffusion for Fraction
}

// Request is what the proxy saw of one request.
type Request struct {
	Op     string
	Method string
	Path   string
	Header http.Header
	Fault  Action // "" if forwarded normally
}

// Proxy is a running fault proxy.
type Proxy struct {
	URL      string // http://127.0.0.1:PORT, the endpoint to give clients
	target   *url.URL
	srv      *http.Server
	ln       net.Listener
	upstream *http.Transport

	mu       gosync.Mutex
	rules    []*rule
	counts   map[string]int
	faults   map[Action]int
	requests []Request
}

// New starts a proxy in front of target ("http://127.0.0.1:PORT").
func New(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("faultproxy: bad target %q", target)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: %w", err)
	}
	p := &Proxy{
		URL: "http://" + ln.Addr().String(), target: u, ln: ln,
		upstream: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 128, IdleConnTimeout: 30 * time.Second},
		counts:   map[string]int{}, faults: map[Action]int{},
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go p.srv.Serve(ln)
	return p, nil
}

// Close stops the proxy and its connections.
func (p *Proxy) Close() error {
	err := p.srv.Close()
	p.upstream.CloseIdleConnections()
	return err
}

// Add installs a fault rule (rules are tried in order; the first that fires wins).
func (p *Proxy) Add(r Rule) {
	p.mu.Lock()
	p.rules = append(p.rules, &rule{Rule: r, acc: 0.5})
	p.mu.Unlock()
}

// ClearRules removes all fault rules.
func (p *Proxy) ClearRules() {
	p.mu.Lock()
	p.rules = nil
	p.mu.Unlock()
}

// Reset zeroes the counters and the request log (rules stay).
func (p *Proxy) ResetCounts() {
	p.mu.Lock()
	p.counts, p.faults, p.requests = map[string]int{}, map[Action]int{}, nil
	p.mu.Unlock()
}

// Counts returns requests seen per S3 operation (faulted ones included).
func (p *Proxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.counts))
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}

// Faults returns how often each action fired.
func (p *Proxy) Faults() map[Action]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[Action]int, len(p.faults))
	for k, v := range p.faults {
		out[k] = v
	}
	return out
}

// Requests returns the log of requests seen, in arrival order.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.requests...)
}

// decide counts the request and picks the fault to inject, if any.
func (p *Proxy) decide(r *http.Request, op string) (Rule, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts[op]++
	req := Request{Op: op, Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone()}
	defer func() { p.requests = append(p.requests, req) }()
	for _, ru := range p.rules {
		if (ru.Op != "" && ru.Op != op) || (ru.Times > 0 && ru.fired >= ru.Times) || r.ContentLength < ru.MinBody ||
			!ru.headerMatches(r.Header) {
			continue
		}
		if ru.Fraction > 0 {
			if ru.acc += ru.Fraction; ru.acc < 1 {
				continue
			}
			ru.acc--
		}
		ru.fired++
		p.faults[ru.Action]++
		req.Fault = ru.Action
		return ru.Rule, true
	}
	return Rule{}, false
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := Operation(r)
	ru, fault := p.decide(r, op)
	switch {
	case fault && ru.Action == SlowDown:
		respond(w, r, http.StatusServiceUnavailable, "SlowDown")
	case fault && ru.Action == Respond:
		respond(w, r, ru.Status, ru.Code)
	case fault && ru.Action == Reset:
		hangUp(w)
	case fault && ru.Action == CutBody:
		p.cut(r, ru.CutAfter)
		hangUp(w)
	case fault && ru.Action == DropResponse:
		if resp, err := p.forward(r); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		hangUp(w)
	case fault && ru.Action == CutResponse:
		p.relay(w, r, ru.CutAfter)
	default:
		p.relay(w, r, -1)
	}
}

func respond(w http.ResponseWriter, r *http.Request, status int, code string) {
	io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>injected by faultproxy</Message></Error>`, code)
}

// hangUp closes the client connection abruptly (RST where possible).
func hangUp(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Expect"}

// forward sends r to the target with the same Host header (SigV4 signs it).
func (p *Proxy) forward(r *http.Request) (*http.Response, error) {
	out := r.Clone(r.Context())
	out.URL.Scheme, out.URL.Host = p.target.Scheme, p.target.Host
	out.RequestURI = ""
	out.Host = r.Host
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	if r.ContentLength == 0 {
		out.Body = nil
	}
	return p.upstream.RoundTrip(out)
}

// relay forwards r and copies the response back; with cut >= 0 only cut
// body bytes are relayed before hanging up.
func (p *Proxy) relay(w http.ResponseWriter, r *http.Request, cut int64) {
	resp, err := p.forward(r)
	if err != nil {
		hangUp(w)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		if !strings.EqualFold(k, "Connection") {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(resp.StatusCode)
	if cut < 0 {
		io.Copy(w, resp.Body)
		return
	}
	io.CopyN(w, resp.Body, cut)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	// Close with FIN, not RST: every relayed byte reaches the client, which
	// then sees the body end early (deterministic for tests).
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
		}
	}
}

// cut sends the request head and the first n body bytes to the target on
// a fresh connection and closes it, the way a client that died mid-upload
// does; the server sees a body shorter than its Content-Length.
func (p *Proxy) cut(r *http.Request, n int64) {
	conn, err := net.DialTimeout("tcp", p.target.Host, 10*time.Second)
	if err != nil {
		return
	}
	defer conn.Close()
	h := r.Header.Clone()
	for _, k := range hopHeaders {
		h.Del(k)
	}
	h.Set("Content-Length", strconv.FormatInt(r.ContentLength, 10))
	bw := bufio.NewWriter(conn)
	fmt.Fprintf(bw, "%s %s HTTP/1.1\r\nHost: %s\r\n", r.Method, r.URL.RequestURI(), r.Host)
	h.Write(bw)
	bw.WriteString("\r\n")
	io.CopyN(bw, r.Body, n)
	bw.Flush()
	// Give the server a moment to read what arrived before the FIN.
	conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	io.Copy(io.Discard, conn)
}
