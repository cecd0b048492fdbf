// Package config reads evac's one YAML file: named S3 and MySQL endpoints and
// the jobs (sync, replicate, verify) that use them.
//
// Loading is strict: unknown keys are errors (with a "did you mean"), every
// value is type-checked and validated, and every error names the file, line,
// column, field path, the problem and the fix:
//
//	evac.yaml:12:16: jobs[0].sync.workers: must be between 1 and 4096, got 0 (set workers: 64 or remove the line for the default)
//
// ${VAR} and ${VAR:-default} in any value are expanded from the environment
// (keep secrets out of the file). Every secret found (DSN passwords, AWS
// secret keys, session tokens) is registered with redact.Register, so no
// log line or error shows it.
//
// Only cmd/evac imports this package: it maps the loaded jobs onto each
// engine's own option struct and lets flags override them (see Override and
// docs/CONFIG.md).
package config

import (
	"fmt"
	"os"
	"time"
)

// File is a loaded, expanded and validated config file.
type File struct {
	// Path is the file as named on the command line.
	Path string `yaml:"-"`
	// Version of the file format; 1 (the default) is the only one.
	Version int `yaml:"version"`
	// S3 holds named S3 connection settings, referenced by jobs' source_s3/target_s3.
	S3 map[string]*S3 `yaml:"s3"`
	// MySQL holds named MySQL/MariaDB servers, referenced by replicate and verify jobs.
	MySQL map[string]*MySQL `yaml:"mysql"`
	// Jobs in file order; names are unique.
	Jobs []*Job `yaml:"jobs"`
	// Daemon configures `evac daemon`.
	Daemon Daemon `yaml:"daemon"`

	pos positions
}

// S3 is how to reach one S3-compatible service. Empty fields fall back to
// the standard AWS chain (environment, shared config/credentials, IMDS).
type S3 struct {
	Name            string `yaml:"-"`
	Endpoint        string `yaml:"endpoint"`          // custom endpoint URL; empty for AWS
	Region          string `yaml:"region"`            // e.g. us-east-1
	Profile         string `yaml:"profile"`           // shared-config profile
	AccessKeyID     string `yaml:"access_key_id"`     // static credentials (use ${ENV})
	SecretAccessKey string `yaml:"secret_access_key"` // secret: registered for redaction
	SessionToken    string `yaml:"session_token"`     // secret: registered for redaction
	// PathStyle addressing; defaults to true when Endpoint is set, false for AWS.
	PathStyle *bool `yaml:"path_style"`
	// SSE for objects written to this service: "", "AES256" or "aws:kms".
	SSE         string `yaml:"sse"`
	SSEKMSKeyID string `yaml:"sse_kms_key_id"`
}

// UsePathStyle reports the effective path-style setting.
func (s *S3) UsePathStyle() bool {
	if s == nil {
		return false
	}
	if s.PathStyle != nil {
		return *s.PathStyle
	}
	return s.Endpoint != ""
}

// MySQL is one MySQL or MariaDB server.
type MySQL struct {
	Name string `yaml:"-"`
	// DSN in go-sql-driver format: "user:${PASSWORD}@tcp(host:3306)/".
	DSN string `yaml:"dsn"`
}

// Job is one named unit of work; exactly one of Sync, Replicate, Verify is set.
type Job struct {
	Name      string        `yaml:"name"`
	Sync      *SyncJob      `yaml:"sync,omitempty"`
	Replicate *ReplicateJob `yaml:"replicate,omitempty"`
	Verify    *VerifyJob    `yaml:"verify,omitempty"`
}

// Job kinds, as returned by Kind.
const (
	KindSync      = "sync"
	KindReplicate = "replicate"
	KindVerify    = "verify"
)

// Kind is "sync", "replicate" or "verify".
func (j *Job) Kind() string {
	switch {
	case j.Sync != nil:
		return KindSync
	case j.Replicate != nil:
		return KindReplicate
	case j.Verify != nil:
		return KindVerify
	}
	return ""
}

// SyncJob copies objects from Source to Target (`evac sync`).
type SyncJob struct {
	Source   string `yaml:"source"`    // /path, file:///path or s3://bucket/prefix
	Target   string `yaml:"target"`    // same forms
	SourceS3 string `yaml:"source_s3"` // name of an s3: entry for an s3:// source
	TargetS3 string `yaml:"target_s3"` // name of an s3: entry for an s3:// target

	Workers            int           `yaml:"workers"`             // concurrent objects
	PartWorkers        int           `yaml:"part_workers"`        // concurrent parts per large object
	PartSize           ByteSize      `yaml:"part_size"`           // multipart part size
	MultipartThreshold ByteSize      `yaml:"multipart_threshold"` // objects at least this big go multipart
	CopyCutoff         ByteSize      `yaml:"copy_cutoff"`         // CopyObject up to this size, UploadPartCopy above
	ServerSideCopy     string        `yaml:"server_side_copy"`    // auto | always | never
	BufferMemory       ByteSize      `yaml:"buffer_memory"`       // global budget for part buffers
	Mode               string        `yaml:"mode"`                // journal | checksum | size-only
	Delete             bool          `yaml:"delete"`              // delete target objects missing on the source
	MaxDelete          int           `yaml:"max_delete"`          // refuse a pass that would delete more; 0 = no limit
	Force              bool          `yaml:"force"`               // overwrite objects changed on the target externally
	Include            []string      `yaml:"include"`             // glob patterns on keys
	Exclude            []string      `yaml:"exclude"`             // glob patterns on keys
	Priority           []string      `yaml:"priority"`            // key prefixes copied first
	FollowSymlinks     bool          `yaml:"follow_symlinks"`     //
	StorageClass       string        `yaml:"storage_class"`       // e.g. STANDARD_IA
	BWLimit            ByteSize      `yaml:"bwlimit"`             // bytes per second; 0 = unlimited
	Shard              string        `yaml:"shard"`               // "i/N" or "auto/N"
	Watch              time.Duration `yaml:"watch"`               // repeat passes this often; 0 = once
	JournalDir         string        `yaml:"journal_dir"`         // where the state journal lives
	Report             string        `yaml:"report"`              // NDJSON per-object report file
	DryRun             bool          `yaml:"dry_run"`             //

	// Resolved by validation.
	SourceLocation Location `yaml:"-"`
	TargetLocation Location `yaml:"-"`
}

// ReplicateJob streams MySQL changes from Source to Target (`evac replicate`).
type ReplicateJob struct {
	Source        string   `yaml:"source"`         // name of a mysql: entry, or a DSN
	Target        string   `yaml:"target"`         // name of a mysql: entry, or a DSN
	Databases     []string `yaml:"databases"`      // empty = every non-system database
	Tables        []string `yaml:"tables"`         // "db.table"
	ExcludeTables []string `yaml:"exclude_tables"` // "db.table"

	Snapshot          string        `yaml:"snapshot"`           // auto | never | only
	SnapshotWorkers   int           `yaml:"snapshot_workers"`   //
	ChunkTime         time.Duration `yaml:"chunk_time"`         // target time per snapshot chunk
	UntilCaughtUp     bool          `yaml:"until_caught_up"`    // exit 0 once caught up
	NoHeartbeat       bool          `yaml:"no_heartbeat"`       // read-only source: no evac_meta.heartbeat writes
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"` //
	ServerID          uint32        `yaml:"server_id"`          // binlog client server_id; 0 = derived
	BatchRows         int           `yaml:"batch_rows"`         // cap on rows per target transaction
	BatchBytes        ByteSize      `yaml:"batch_bytes"`        // cap on bytes per target transaction
	BatchTime         time.Duration `yaml:"batch_time"`         // cap on time a batch stays open

	// Resolved by validation: the DSNs with ${ENV} expanded.
	SourceDSN string `yaml:"-"`
	TargetDSN string `yaml:"-"`
}

// VerifyJob proves that both sides match (`evac verify`).
type VerifyJob struct {
	Tables  *VerifyTables  `yaml:"tables,omitempty"`
	Objects *VerifyObjects `yaml:"objects,omitempty"`
	Report  string         `yaml:"report"`  // JSON report file
	FixSQL  string         `yaml:"fix_sql"` // write repair statements here (never applied)
}

// VerifyTables compares MySQL tables chunk by chunk.
type VerifyTables struct {
	Source            string        `yaml:"source"` // name of a mysql: entry, or a DSN
	Target            string        `yaml:"target"`
	Databases         []string      `yaml:"databases"`
	Tables            []string      `yaml:"tables"`
	ExcludeTables     []string      `yaml:"exclude_tables"`
	Workers           int           `yaml:"workers"`             // chunks checked at once
	ChunkTime         time.Duration `yaml:"chunk_time"`          //
	MaxThreadsRunning int           `yaml:"max_threads_running"` // pause while the source is busier

	SourceDSN string `yaml:"-"`
	TargetDSN string `yaml:"-"`
}

// VerifyObjects compares two object listings.
type VerifyObjects struct {
	Source   string   `yaml:"source"`
	Target   string   `yaml:"target"`
	SourceS3 string   `yaml:"source_s3"`
	TargetS3 string   `yaml:"target_s3"`
	Include  []string `yaml:"include"`
	Exclude  []string `yaml:"exclude"`
	Deep     bool     `yaml:"deep"` // re-read and hash both sides
	Workers  int      `yaml:"workers"`

	SourceLocation Location `yaml:"-"`
	TargetLocation Location `yaml:"-"`
}

// Daemon configures `evac daemon`.
type Daemon struct {
	Listen         string        `yaml:"listen"`          // /metrics, /healthz, /status
	VerifyInterval time.Duration `yaml:"verify_interval"` // 0 = no periodic verification
	RPOBudget      time.Duration `yaml:"rpo_budget"`      // alert when lag exceeds it
}

// Load reads, expands and validates the file at path.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Problem: fmt.Sprintf("cannot read config: %v", unwrapPathErr(err)),
			Fix: "check the path given to -c/--config"}
	}
	return Parse(path, data, os.LookupEnv)
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// Job returns the job with the given name, or nil.
func (f *File) Job(name string) *Job {
	if f == nil {
		return nil
	}
	for _, j := range f.Jobs {
		if j.Name == name {
			return j
		}
	}
	return nil
}

// JobsOf returns the jobs of one kind ("sync", "replicate", "verify") in file order.
func (f *File) JobsOf(kind string) []*Job {
	if f == nil {
		return nil
	}
	var out []*Job
	for _, j := range f.Jobs {
		if j.Kind() == kind {
			out = append(out, j)
		}
	}
	return out
}
