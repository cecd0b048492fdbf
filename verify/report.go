package verify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// SchemaID names the report format; bump the version on incompatible changes.
const SchemaID = "https://evac.dev/schemas/verify-report/v1"

// Verdicts.
const (
	Pass = "PASS"
	Fail = "FAIL"
)

// Table statuses.
const (
	StatusMatch        = "match"
	StatusDiffer       = "differ"
	StatusSchemaDiffer = "schema_differ"
	StatusMissing      = "missing_on_target"
	StatusError        = "error"
)

// Report is the verification evidence. Its JSON form is documented in
// docs/report.schema.json and docs/VERIFY.md.
type Report struct {
	Schema       string          `json:"$schema"`
	Version      int             `json:"report_version"`
	Tool         Tool            `json:"tool"`
	StartedAt    string          `json:"started_at"`
	FinishedAt   string          `json:"finished_at"`
	DurationS    float64         `json:"duration_s"`
	Endpoints    Endpoints       `json:"endpoints"`
	ConfigDigest string          `json:"config_digest"`
	Verdict      string          `json:"verdict"`
	Summary      Summary         `json:"summary"`
	Tables       []TableResult   `json:"tables"`
	Objects      []ObjectsResult `json:"objects"`
	RPO          *RPO            `json:"rpo"`
	Warnings     []string        `json:"warnings"`
	SHA256       string          `json:"sha256"`
}

// Tool identifies the binary that wrote the report.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Commit  string `json:"commit"`
}

// Endpoints are the compared sides, redacted (no passwords, no keys).
type Endpoints struct {
	Source string `json:"source"`
	Target string `json:"target"`
}

// Summary counts what was compared.
type Summary struct {
	Tables          int   `json:"tables"`
	TablesDiffering int   `json:"tables_differing"`
	Rows            int64 `json:"rows"`
	DifferingKeys   int64 `json:"differing_keys"`
	Objects         int64 `json:"objects"`
	ObjectsDiffer   int64 `json:"objects_differing"`
}

// TableResult is one table's verdict.
type TableResult struct {
	Table         string    `json:"table"`
	Status        string    `json:"status"`
	Keyless       bool      `json:"keyless"`
	Key           []string  `json:"key"`
	SourceRows    int64     `json:"source_rows"`
	TargetRows    int64     `json:"target_rows"`
	Chunks        int       `json:"chunks"`
	ChunksDiffer  int       `json:"chunks_differing"`
	Rechecked     int       `json:"chunks_rechecked"`
	DifferingKeys int64     `json:"differing_keys"`
	Diffs         []RowDiff `json:"diffs"`
	Truncated     bool      `json:"diffs_truncated"`
	Error         string    `json:"error,omitempty"`
	DurationS     float64   `json:"duration_s"`

	fix []string // repair statements for the target
}

// FixSQL returns the statements that would repair the target table.
func (t TableResult) FixSQL() []string { return t.fix }

// Row difference kinds.
const (
	Missing   = "missing_on_target"
	Extra     = "extra_on_target"
	Different = "different"
)

// RowDiff names one differing row: by key, or for a keyless table by its
// row hash with the number of copies on each side.
type RowDiff struct {
	Kind        string            `json:"kind"`
	Key         map[string]string `json:"key,omitempty"`
	Columns     []string          `json:"columns,omitempty"`
	RowHash     string            `json:"row_hash,omitempty"`
	SourceCount int64             `json:"source_count,omitempty"`
	TargetCount int64             `json:"target_count,omitempty"`
}

// Finish sets the verdict, summary and SHA-256.
func (r *Report) Finish(now time.Time) error {
	r.FinishedAt = now.UTC().Format(time.RFC3339Nano)
	if t, err := time.Parse(time.RFC3339Nano, r.StartedAt); err == nil {
		r.DurationS = now.Sub(t).Seconds()
	}
	r.Summary = Summary{}
	r.Verdict = Pass
	for _, t := range r.Tables {
		r.Summary.Tables++
		r.Summary.Rows += t.SourceRows
		r.Summary.DifferingKeys += t.DifferingKeys
		if t.Status != StatusMatch {
			r.Summary.TablesDiffering++
			r.Verdict = Fail
		}
	}
	for i, o := range r.Objects {
		if o.Prefixes == nil {
			r.Objects[i].Prefixes = []PrefixStat{}
		}
		r.Summary.Objects += o.SourceObjects
		r.Summary.ObjectsDiffer += o.Differing
		if o.Status != StatusMatch {
			r.Verdict = Fail
		}
	}
	if r.Tables == nil {
		r.Tables = []TableResult{}
	}
	if r.Objects == nil {
		r.Objects = []ObjectsResult{}
	}
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
	sum, err := r.Digest()
	r.SHA256 = sum
	return err
}

// Canonical returns the canonical form the SHA-256 covers: the report JSON
// with "sha256" set to "", object keys sorted by byte order, no whitespace,
// no HTML escaping, numbers exactly as encoded.
func (r Report) Canonical() ([]byte, error) {
	r.SHA256 = ""
	raw, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	return CanonicalJSON(raw)
}

// CanonicalJSON re-encodes any JSON document canonically (see Canonical).
func CanonicalJSON(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("canonical JSON: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // maps encode with sorted keys
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// Digest is the hex SHA-256 of the canonical form.
func (r Report) Digest() (string, error) {
	c, err := r.Canonical()
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(c)
	return hex.EncodeToString(s[:]), nil
}

// CheckDigest verifies a report file's sha256 field against its content.
func CheckDigest(raw []byte) error {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return fmt.Errorf("report is not JSON: %w", err)
	}
	want, _ := m["sha256"].(string)
	m["sha256"] = ""
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	c, err := CanonicalJSON(b)
	if err != nil {
		return err
	}
	s := sha256.Sum256(c)
	if got := hex.EncodeToString(s[:]); got != want {
		return fmt.Errorf("report sha256 is %s but its canonical form hashes to %s: the report was modified", want, got)
	}
	return nil
}

// JSON returns the indented report.
func (r Report) JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(r)
	return buf.Bytes(), err
}
