package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// pos is where a field's key and value sit in the file.
type pos struct{ keyLine, keyCol, line, col int }

// positions maps a field path ("jobs[0].sync.workers") to its place.
type positions map[string]pos

// decoder walks the YAML AST into the config structs itself (instead of
// yaml.Unmarshal) so that every error carries the field path and position,
// unknown keys get a suggestion, and ${ENV} is expanded per value after
// parsing (a secret containing ": " or "#" cannot break the YAML).
type decoder struct {
	file    string
	env     LookupEnv
	errs    ErrorList
	pos     positions
	anchors map[string]ast.Node
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// Parse reads a config from data; name is used in error messages and to
// resolve relative local paths (against its directory). env looks up ${VAR}.
func Parse(name string, data []byte, env LookupEnv) (*File, error) {
	f := &File{Path: name}
	f.setDefaults()
	d := &decoder{file: name, env: env, pos: positions{}, anchors: map[string]ast.Node{}}
	body, err := d.parse(data)
	if err != nil {
		return nil, err
	}
	ast.Walk(anchorCollector(d.anchors), body)
	d.value("", body, reflect.ValueOf(f).Elem())
	registerSecrets(f)
	if len(d.errs) > 0 {
		return nil, d.errs.err()
	}
	f.pos = d.pos
	if err := f.validate(); err != nil {
		return nil, err
	}
	return f, nil
}

func (d *decoder) parse(data []byte) (ast.Node, error) {
	empty := &Error{File: d.file, Problem: "the config file is empty",
		Fix: "start from testdata/config/good/full.yaml or docs/CONFIG.md"}
	if strings.TrimSpace(string(data)) == "" {
		return nil, empty
	}
	af, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, d.syntaxError(err)
	}
	var docs []*ast.DocumentNode
	for _, doc := range af.Docs {
		if doc.Body != nil {
			docs = append(docs, doc)
		}
	}
	switch {
	case len(docs) == 0:
		return nil, empty
	case len(docs) > 1:
		p := docs[1].Body.GetToken().Position
		return nil, &Error{File: d.file, Line: p.Line, Column: p.Column,
			Problem: "the file holds more than one YAML document", Fix: "keep one document: remove the second ---"}
	}
	return docs[0].Body, nil
}

func (d *decoder) syntaxError(err error) error {
	var se *yaml.SyntaxError
	if errors.As(err, &se) && se.Token != nil {
		return &Error{File: d.file, Line: se.Token.Position.Line, Column: se.Token.Position.Column,
			Problem: "invalid YAML: " + se.Message,
			Fix:     `check the indentation; quote values that contain ": ", " #" or start with @, *, & or !`}
	}
	return &Error{File: d.file, Problem: "invalid YAML: " + err.Error(), Fix: "check the indentation and quoting"}
}

func (d *decoder) errAt(p *token.Position, path, fix, format string, args ...any) {
	e := &Error{File: d.file, Path: path, Problem: fmt.Sprintf(format, args...), Fix: fix}
	if p != nil {
		e.Line, e.Column = p.Line, p.Column
	}
	d.errs.add(e)
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	sizeType     = reflect.TypeFor[ByteSize]()
)

// value decodes node n into v; path names v for errors.
func (d *decoder) value(path string, n ast.Node, v reflect.Value) {
	n = d.unwrap(n)
	if v.Kind() == reflect.Pointer {
		if isNull(n) && v.Type().Elem().Kind() != reflect.Struct {
			return // e.g. path_style: (unset)
		}
		if v.IsNil() {
			v.Set(newValue(v.Type().Elem()))
		}
		v = v.Elem()
	}
	if isNull(n) {
		return // an empty value keeps the default
	}
	switch {
	case v.Type() == durationType:
		d.scalar(path, n, v, "a duration like 500ms, 30s or 5m", func(s string) (any, error) {
			return time.ParseDuration(s)
		})
	case v.Type() == sizeType:
		d.scalar(path, n, v, "a size like 64MiB, 1GiB or 1048576", func(s string) (any, error) {
			return ParseByteSize(s)
		})
	case v.Kind() == reflect.Struct:
		d.structure(path, n, v)
	case v.Kind() == reflect.Map:
		d.mapping(path, n, v)
	case v.Kind() == reflect.Slice:
		d.sequence(path, n, v)
	default:
		d.basic(path, n, v)
	}
}

func newValue(t reflect.Type) reflect.Value {
	nv := reflect.New(t)
	if df, ok := nv.Interface().(defaulter); ok {
		df.setDefaults()
	}
	return nv
}

func (d *decoder) unwrap(n ast.Node) ast.Node {
	for {
		switch t := n.(type) {
		case *ast.AnchorNode:
			n = t.Value
		case *ast.AliasNode:
			target, ok := d.anchors[t.Value.GetToken().Value]
			if !ok {
				return n
			}
			n = target
		case *ast.TagNode:
			n = t.Value
		default:
			return n
		}
	}
}

func isNull(n ast.Node) bool {
	if n == nil {
		return true
	}
	_, ok := n.(*ast.NullNode)
	return ok
}

// describe names what a node is, for "expected X, got Y".
func describe(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	}
	if s, ok := scalarText(n); ok {
		return strconv.Quote(s)
	}
	return n.Type().String()
}

func scalarText(n ast.Node) (string, bool) {
	switch t := n.(type) {
	case *ast.StringNode:
		return t.Value, true
	case *ast.LiteralNode:
		return t.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return n.GetToken().Value, true
	}
	return "", false
}

func mappingValues(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch t := n.(type) {
	case *ast.MappingNode:
		return t.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{t}, true
	}
	return nil, false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fieldIndex maps yaml tag names to struct field indexes.
func fieldIndex(t reflect.Type) (map[string]int, []string) {
	idx := map[string]int{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		idx[tag] = i
		names = append(names, tag)
	}
	return idx, names
}

func (d *decoder) structure(path string, n ast.Node, v reflect.Value) {
	mvs, ok := mappingValues(n)
	if !ok {
		d.errAt(n.GetToken().Position, path, "", "expected a mapping of fields, got %s", describe(n))
		return
	}
	idx, names := fieldIndex(v.Type())
	seen := map[string]int{}
	mvs = d.merge(path, mvs, v)
	for _, mv := range mvs {
		key := mv.Key.GetToken().Value
		kp := mv.Key.GetToken().Position
		if path == "" && strings.HasPrefix(key, "x-") {
			continue // extension keys: a place for YAML anchors
		}
		if line, dup := seen[key]; dup {
			d.errAt(kp, "", "remove one of them", "duplicate field %q in %s (first set on line %d)", key, where(path), line)
			continue
		}
		seen[key] = kp.Line
		i, ok := idx[key]
		if !ok {
			d.unknown(kp, path, key, names)
			continue
		}
		child := join(path, key)
		d.record(child, mv)
		d.value(child, mv.Value, v.Field(i))
	}
}

func where(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}

func (d *decoder) unknown(p *token.Position, path, key string, names []string) {
	if s := suggest(key, names); s != "" {
		d.errAt(p, "", "", "unknown field %q in %s (did you mean %q?)", key, where(path), s)
		return
	}
	d.errAt(p, "", "", "unknown field %q in %s (valid fields: %s)", key, where(path), strings.Join(names, ", "))
}

func (d *decoder) record(path string, mv *ast.MappingValueNode) {
	kp := mv.Key.GetToken().Position
	p := pos{keyLine: kp.Line, keyCol: kp.Column, line: kp.Line, col: kp.Column}
	if val := d.unwrap(mv.Value); val != nil {
		if _, ok := scalarText(val); ok {
			vp := val.GetToken().Position
			p.line, p.col = vp.Line, vp.Column
		}
	}
	d.pos[path] = p
}

func (d *decoder) mapping(path string, n ast.Node, v reflect.Value) {
	mvs, ok := mappingValues(n)
	if !ok {
		d.errAt(n.GetToken().Position, path, "", "expected a mapping of names to settings, got %s", describe(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	for _, mv := range mvs {
		key := mv.Key.GetToken().Value
		kp := mv.Key.GetToken().Position
		child := join(path, key)
		if !nameRE.MatchString(key) {
			d.errAt(kp, child, "use letters, digits, _, . and - (e.g. dc1-minio)", "invalid name %q", key)
			continue
		}
		if v.MapIndex(reflect.ValueOf(key)).IsValid() {
			d.errAt(kp, "", "remove one of them", "duplicate name %q in %s", key, path)
			continue
		}
		d.record(child, mv)
		ev := newValue(v.Type().Elem().Elem())
		if nf := ev.Elem().FieldByName("Name"); nf.IsValid() && nf.Kind() == reflect.String {
			nf.SetString(key)
		}
		d.value(child, mv.Value, ev.Elem())
		v.SetMapIndex(reflect.ValueOf(key), ev)
	}
}

func (d *decoder) sequence(path string, n ast.Node, v reflect.Value) {
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		key := path[strings.LastIndex(path, ".")+1:]
		d.errAt(n.GetToken().Position, path, fmt.Sprintf(`write %s: [a, b] or one "- item" per line`, key),
			"expected a list, got %s", describe(n))
		return
	}
	if len(seq.Values) == 0 {
		v.SetZero() // "[]" is the same as leaving the field out
		return
	}
	out := reflect.MakeSlice(v.Type(), 0, len(seq.Values))
	for i, item := range seq.Values {
		child := fmt.Sprintf("%s[%d]", path, i)
		if p := nodePos(d.unwrap(item)); p != nil {
			d.pos[child] = pos{keyLine: p.Line, keyCol: p.Column, line: p.Line, col: p.Column}
		}
		et := v.Type().Elem()
		var ev reflect.Value
		if et.Kind() == reflect.Pointer {
			ev = newValue(et.Elem())
			d.value(child, item, ev.Elem())
		} else {
			ev = reflect.New(et).Elem()
			if isNull(d.unwrap(item)) {
				d.errAt(item.GetToken().Position, child, "remove the empty \"-\" line", "empty list item")
				continue
			}
			d.value(child, item, ev)
		}
		out = reflect.Append(out, ev)
	}
	v.Set(out)
}

// text returns a scalar's text with ${ENV} expanded.
func (d *decoder) text(path string, n ast.Node) (string, bool) {
	s, ok := scalarText(n)
	if !ok {
		d.errAt(n.GetToken().Position, path, "", "expected a single value, got %s", describe(n))
		return "", false
	}
	out, _, err := expand(s, d.env)
	if err != nil {
		var ee *envError
		if errors.As(err, &ee) {
			d.errAt(n.GetToken().Position, path, ee.Fix, "%s", ee.Problem)
		}
		return "", false
	}
	return out, true
}

func (d *decoder) scalar(path string, n ast.Node, v reflect.Value, want string, parse func(string) (any, error)) {
	s, ok := d.text(path, n)
	if !ok {
		return
	}
	x, err := parse(strings.TrimSpace(s))
	if err != nil {
		d.errAt(n.GetToken().Position, path, "", "expected %s, got %q", want, s)
		return
	}
	v.Set(reflect.ValueOf(x).Convert(v.Type()))
}

func (d *decoder) basic(path string, n ast.Node, v reflect.Value) {
	s, ok := d.text(path, n)
	if !ok {
		return
	}
	key := path[strings.LastIndex(path, ".")+1:]
	p := n.GetToken().Position
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		switch strings.ToLower(s) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			d.errAt(p, path, fmt.Sprintf("write %s: true or %s: false", key, key), "expected true or false, got %q", s)
		}
	case reflect.Int, reflect.Int64:
		i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			d.errAt(p, path, "write a whole number without quotes or units", "expected an integer, got %q", s)
			return
		}
		v.SetInt(i)
	case reflect.Uint32:
		u, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
		if err != nil {
			d.errAt(p, path, "write a whole number between 0 and 4294967295", "expected an unsigned integer, got %q", s)
			return
		}
		v.SetUint(u)
	default:
		d.errAt(p, path, "", "unsupported field type %s", v.Type())
	}
}

// nodePos is where a node starts: a mapping at its first key.
func nodePos(n ast.Node) *token.Position {
	if mvs, ok := mappingValues(n); ok && len(mvs) > 0 {
		return mvs[0].Key.GetToken().Position
	}
	if n == nil || n.GetToken() == nil {
		return nil
	}
	return n.GetToken().Position
}

// anchorCollector records every anchor of the document, so aliases resolve
// wherever the anchor sits (also under an ignored x- key).
type anchorCollector map[string]ast.Node

func (a anchorCollector) Visit(n ast.Node) ast.Visitor {
	if an, ok := n.(*ast.AnchorNode); ok && an.Name != nil {
		a[an.Name.GetToken().Value] = an.Value
	}
	return a
}

// merge applies YAML merge keys ("<<: *defaults" or "<<: [*a, *b]") to v
// and returns the remaining entries; those are decoded afterwards, so an
// explicit key always wins over a merged one.
func (d *decoder) merge(path string, mvs []*ast.MappingValueNode, v reflect.Value) []*ast.MappingValueNode {
	rest := mvs[:0:0]
	for _, mv := range mvs {
		if _, ok := mv.Key.(*ast.MergeKeyNode); !ok {
			rest = append(rest, mv)
			continue
		}
		srcs := []ast.Node{d.unwrap(mv.Value)}
		if seq, ok := srcs[0].(*ast.SequenceNode); ok {
			srcs = seq.Values
		}
		for _, src := range srcs {
			src = d.unwrap(src)
			if _, ok := mappingValues(src); !ok {
				d.errAt(mv.Key.GetToken().Position, path, "write <<: *anchor with an anchor on a mapping",
					"merge key needs a mapping, got %s", describe(src))
				continue
			}
			d.structure(path, src, v)
		}
	}
	return rest
}
