package verify

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// validate checks doc against the subset of JSON Schema 2020-12 that
// docs/report.schema.json uses: type, const, enum, pattern, minimum,
// required, properties, additionalProperties, items and local $ref. A
// keyword it does not know fails the test, so the schema cannot silently
// outgrow the validator.
func validate(root, s map[string]any, doc any, path string) []string {
	var errs []string
	fail := func(f string, a ...any) { errs = append(errs, path+": "+fmt.Sprintf(f, a...)) }
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := s[k]
		switch k {
		case "$schema", "$id", "title", "description", "$defs":
		case "$ref":
			ref := strings.TrimPrefix(v.(string), "#/$defs/")
			errs = append(errs, validate(root, root["$defs"].(map[string]any)[ref].(map[string]any), doc, path)...)
		case "type":
			if !typeOK(v, doc) {
				fail("type %v, got %T", v, doc)
			}
		case "const":
			if fmt.Sprint(v) != fmt.Sprint(doc) {
				fail("want %v, got %v", v, doc)
			}
		case "enum":
			ok := false
			for _, e := range v.([]any) {
				ok = ok || fmt.Sprint(e) == fmt.Sprint(doc)
			}
			if !ok {
				fail("%v not in %v", doc, v)
			}
		case "pattern":
			if str, ok := doc.(string); ok && !regexp.MustCompile(v.(string)).MatchString(str) {
				fail("%q does not match %s", str, v)
			}
		case "minimum":
			if n, ok := doc.(float64); ok && n < v.(float64) {
				fail("%v below %v", n, v)
			}
		case "required":
			if m, ok := doc.(map[string]any); ok {
				for _, r := range v.([]any) {
					if _, ok := m[r.(string)]; !ok {
						fail("missing %s", r)
					}
				}
			}
		case "properties", "additionalProperties":
			if m, ok := doc.(map[string]any); ok && k == "properties" {
				errs = append(errs, validateProps(root, s, m, path)...)
			}
		case "items":
			if a, ok := doc.([]any); ok {
				for i, x := range a {
					errs = append(errs, validate(root, v.(map[string]any), x, fmt.Sprintf("%s[%d]", path, i))...)
				}
			}
		default:
			fail("schema keyword %q is not supported by the test validator", k)
		}
	}
	return errs
}

func validateProps(root, s, m map[string]any, path string) []string {
	var errs []string
	props, _ := s["properties"].(map[string]any)
	for name, val := range m {
		if ps, ok := props[name]; ok {
			errs = append(errs, validate(root, ps.(map[string]any), val, path+"."+name)...)
			continue
		}
		switch ap := s["additionalProperties"].(type) {
		case bool:
			if !ap {
				errs = append(errs, path+": unexpected property "+name)
			}
		case map[string]any:
			errs = append(errs, validate(root, ap, val, path+"."+name)...)
		}
	}
	return errs
}

func typeOK(t any, doc any) bool {
	if list, ok := t.([]any); ok {
		for _, x := range list {
			if typeOK(x, doc) {
				return true
			}
		}
		return false
	}
	switch t {
	case "object":
		_, ok := doc.(map[string]any)
		return ok
	case "array":
		_, ok := doc.([]any)
		return ok
	case "string":
		_, ok := doc.(string)
		return ok
	case "boolean":
		_, ok := doc.(bool)
		return ok
	case "null":
		return doc == nil
	case "number":
		_, ok := doc.(float64)
		return ok
	case "integer":
		n, ok := doc.(float64)
		return ok && n == math.Trunc(n)
	}
	return false
}

func sampleReport() *Report {
	n, b := int64(3), int64(0)
	r := &Report{Schema: SchemaID, Version: 1, Tool: Tool{Name: "evac", Version: "dev", Commit: "abc"},
		StartedAt:    time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC).Format(time.RFC3339Nano),
		Endpoints:    Endpoints{Source: "mysql://root@10.0.0.1:3306", Target: "mysql://admin@rds:3306"},
		ConfigDigest: strings.Repeat("a", 64),
		Tables: []TableResult{
			{Table: "shop.orders", Status: StatusDiffer, Key: []string{"id"}, SourceRows: 10, TargetRows: 10, Chunks: 1, ChunksDiffer: 1,
				Diffs: []RowDiff{{Kind: Different, Key: map[string]string{"id": "7"}, Columns: []string{"note <&>"}}}},
			{Table: "shop.log", Status: StatusDiffer, Keyless: true, Key: []string{}, Diffs: []RowDiff{{Kind: Extra, RowHash: strings.Repeat("0", 32), SourceCount: 1, TargetCount: 2}}},
		},
		Objects: []ObjectsResult{{Source: "s3://a", Target: "s3://b", Status: StatusMatch, SizeOnlyKeys: []string{}, Diffs: []ObjectDiff{}}},
		RPO: &RPO{Lag: &Lag{Method: "evac-heartbeat", Samples: 3, NowMS: 12.5}, Behind: &Behind{PositionKind: "mariadb-gtid", Transactions: &n},
			Objects: &PendingObjects{Count: 0, Bytes: b}},
	}
	r.Tables[1].Diffs[0].RowHash = "0123456789abcdef0123456789abcdef"
	return r
}

func loadSchema(t *testing.T) map[string]any {
	raw, err := os.ReadFile("../docs/report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	return s
}

func TestReportValidatesAgainstSchema(t *testing.T) {
	schema := loadSchema(t)
	for _, r := range []*Report{sampleReport(), {Schema: SchemaID, Version: 1, Tool: Tool{Name: "evac"}, StartedAt: "2026-01-01T00:00:00Z", ConfigDigest: strings.Repeat("0", 64)}} {
		if err := r.Finish(time.Date(2026, 1, 2, 3, 5, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
		raw, err := r.JSON()
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		if errs := validate(schema, schema, doc, "$"); len(errs) > 0 {
			t.Fatalf("report does not validate:\n%s\n%s", strings.Join(errs, "\n"), raw)
		}
	}
	// The validator rejects what the schema forbids.
	bad := map[string]any{"verdict": "MAYBE", "extra": 1}
	if errs := validate(schema, schema, bad, "$"); len(errs) < 3 {
		t.Fatalf("validator accepted a bad report: %v", errs)
	}
}

func TestReportDigestIsCanonical(t *testing.T) {
	r := sampleReport()
	if err := r.Finish(time.Date(2026, 1, 2, 3, 5, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	raw, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckDigest(raw); err != nil {
		t.Fatal(err)
	}
	// Independent canonicalisation: sorted keys, no spaces, sha256 "".
	c, err := r.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(string(c), "\n ") && !strings.Contains(string(c), "note <&>") {
		t.Fatalf("canonical form has whitespace: %s", c)
	}
	if !strings.Contains(string(c), `"sha256":""`) || !strings.HasPrefix(string(c), `{"$schema":`) || !strings.Contains(string(c), `"note <&>"`) {
		t.Fatalf("canonical form: %s", c)
	}
	tampered := strings.Replace(string(raw), `"id": "7"`, `"id": "8"`, 1)
	if err := CheckDigest([]byte(tampered)); err == nil || !strings.Contains(err.Error(), "the report was modified") {
		t.Fatalf("tampered report accepted: %v", err)
	}
}

// validateReport checks a report built from real results against the
// schema and its digest.
func validateReport(t *testing.T, tables []TableResult, objects []ObjectsResult) {
	t.Helper()
	r := &Report{Schema: SchemaID, Version: 1, Tool: Tool{Name: "evac", Version: "test"},
		StartedAt: time.Now().UTC().Format(time.RFC3339Nano), ConfigDigest: strings.Repeat("0", 64),
		Tables: tables, Objects: objects}
	if err := r.Finish(time.Now()); err != nil {
		t.Fatal(err)
	}
	raw, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	schema := loadSchema(t)
	if errs := validate(schema, schema, doc, "$"); len(errs) > 0 {
		t.Fatalf("report does not validate:\n%s", strings.Join(errs, "\n"))
	}
	if err := CheckDigest(raw); err != nil {
		t.Fatal(err)
	}
}
