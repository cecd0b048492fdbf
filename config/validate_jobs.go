package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

func (v *validator) job(p string, j *Job, names map[string]string) {
	switch {
	case j.Name == "":
		v.missing(p+".name", "give every job a unique name, e.g. name: documents")
	case !nameRE.MatchString(j.Name):
		v.fail(p+".name", "use letters, digits, _, . and -", "invalid job name %q", j.Name)
	case names[j.Name] != "":
		v.fail(p+".name", "give every job a unique name", "job name %q is already used by %s", j.Name, names[j.Name])
	default:
		names[j.Name] = p
	}
	var kinds []string
	for _, k := range []struct {
		name string
		set  bool
	}{{KindSync, j.Sync != nil}, {KindReplicate, j.Replicate != nil}, {KindVerify, j.Verify != nil}} {
		if k.set {
			kinds = append(kinds, k.name)
		}
	}
	if len(kinds) != 1 {
		found := "none"
		if len(kinds) > 1 {
			found = strings.Join(kinds, " and ")
		}
		v.add(p, true, "split it into one job per kind, each with its own name",
			"a job needs exactly one of sync, replicate or verify, found %s", found)
		return
	}
	switch {
	case j.Sync != nil:
		v.sync(p+".sync", j.Sync)
	case j.Replicate != nil:
		v.replicate(p+".replicate", j.Replicate)
	default:
		v.verify(p+".verify", j.Verify)
	}
}

func (v *validator) sync(p string, j *SyncJob) {
	j.SourceLocation = v.location(p+".source", j.Source, p+".source_s3", j.SourceS3)
	j.TargetLocation = v.location(p+".target", j.Target, p+".target_s3", j.TargetS3)
	if j.SourceLocation.Kind != "" && j.TargetLocation.Kind != "" && overlaps(j.SourceLocation, j.TargetLocation) {
		v.fail(p+".target", "choose a target that is neither the source, inside it, nor around it",
			"%s and %s overlap: the copy would read its own output", j.SourceLocation, j.TargetLocation)
	}
	v.intRange(p+".workers", j.Workers, 1, 4096, DefaultWorkers)
	v.intRange(p+".part_workers", j.PartWorkers, 1, 256, DefaultPartWorkers)
	v.sizeRange(p+".part_size", j.PartSize, 5*MiB, 5*GiB, DefaultPartSize)
	v.sizeRange(p+".multipart_threshold", j.MultipartThreshold, 5*MiB, 5*TiB, DefaultMultipartThreshold)
	v.sizeRange(p+".copy_cutoff", j.CopyCutoff, 0, 5*GiB, DefaultCopyCutoff)
	v.sizeRange(p+".buffer_memory", j.BufferMemory, 16*MiB, 1024*GiB, DefaultBufferMemory)
	if j.BufferMemory >= 16*MiB && j.PartSize > 0 && j.BufferMemory < j.PartSize {
		v.fail(p+".buffer_memory", "raise buffer_memory to at least part_size (better: part_size × workers)",
			"%s is smaller than part_size %s", j.BufferMemory, j.PartSize)
	}
	v.oneOf(p+".server_side_copy", j.ServerSideCopy, DefaultServerSideCopy, "auto", "always", "never")
	v.oneOf(p+".mode", j.Mode, DefaultSyncMode, "journal", "checksum", "size-only")
	if j.MaxDelete < 0 {
		v.fail(p+".max_delete", "use 0 for no limit or a positive number", "must not be negative, got %d", j.MaxDelete)
	}
	if j.MaxDelete > 0 && !j.Delete {
		v.fail(p+".max_delete", "add delete: true, or remove max_delete", "has no effect without delete: true")
	}
	if j.BWLimit < 0 {
		v.fail(p+".bwlimit", "use 0 for unlimited or a rate like 100MiB", "must not be negative")
	}
	if j.Watch < 0 {
		v.fail(p+".watch", "use 0 for one pass or a duration like 10m", "negative duration %s", j.Watch)
	}
	v.patterns(p+".include", j.Include)
	v.patterns(p+".exclude", j.Exclude)
	for i, pr := range j.Priority {
		if pr == "" {
			v.fail(fmt.Sprintf("%s.priority[%d]", p, i), "write a key prefix, e.g. urgent/", "empty prefix")
		}
	}
	if j.Shard != "" {
		if _, _, err := ParseShard(j.Shard); err != nil {
			v.fail(p+".shard", "write i/N with 0 <= i < N, e.g. 2/8, or auto/N for a Kubernetes Indexed Job", "%v", err)
		}
	}
}

// ParseShard reads "i/N" (0 <= i < N) or "auto/N" (index = -1: read
// JOB_COMPLETION_INDEX at run time).
func ParseShard(s string) (index, count int, err error) {
	a, b, ok := strings.Cut(s, "/")
	n, errN := strconv.Atoi(b)
	if !ok || errN != nil || n < 1 {
		return 0, 0, fmt.Errorf("invalid shard %q", s)
	}
	if a == "auto" {
		return -1, n, nil
	}
	i, errI := strconv.Atoi(a)
	if errI != nil || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("invalid shard %q: index must be between 0 and %d", s, n-1)
	}
	return i, n, nil
}

func (v *validator) replicate(p string, j *ReplicateJob) {
	j.SourceDSN = v.mysqlRef(p+".source", j.Source)
	j.TargetDSN = v.mysqlRef(p+".target", j.Target)
	if j.SourceDSN != "" && j.SourceDSN == j.TargetDSN {
		v.fail(p+".target", "point target at a different server", "source and target are the same server")
	}
	for i, db := range j.Databases {
		if db == "" || strings.Contains(db, ".") {
			v.fail(fmt.Sprintf("%s.databases[%d]", p, i), "list database names only; put db.table under tables", "invalid database name %q", db)
		}
	}
	v.tableNames(p+".tables", j.Tables)
	v.tableNames(p+".exclude_tables", j.ExcludeTables)
	v.oneOf(p+".snapshot", j.Snapshot, DefaultSnapshot, "auto", "never", "only")
	v.intRange(p+".snapshot_workers", j.SnapshotWorkers, 1, 256, DefaultSnapshotWorkers)
	v.durRange(p+".chunk_time", j.ChunkTime, 10*time.Millisecond, time.Minute, DefaultChunkTime)
	v.durRange(p+".heartbeat_interval", j.HeartbeatInterval, 10*time.Millisecond, time.Minute, DefaultHeartbeatInterval)
	v.intRange(p+".batch_rows", j.BatchRows, 1, 1_000_000, DefaultBatchRows)
	v.sizeRange(p+".batch_bytes", j.BatchBytes, 64*KiB, 1*GiB, DefaultBatchBytes)
	v.durRange(p+".batch_time", j.BatchTime, time.Millisecond, time.Minute, DefaultBatchTime)
	if j.UntilCaughtUp && j.Snapshot == "only" {
		v.fail(p+".until_caught_up", "remove until_caught_up, or set snapshot: auto", "cannot be combined with snapshot: only")
	}
}

func (v *validator) verify(p string, j *VerifyJob) {
	if j.Tables == nil && j.Objects == nil {
		v.add(p, true, "add tables: {source: ..., target: ...} and/or objects: {source: ..., target: ...}",
			"a verify job needs tables, objects or both")
		return
	}
	if t := j.Tables; t != nil {
		q := p + ".tables"
		t.SourceDSN = v.mysqlRef(q+".source", t.Source)
		t.TargetDSN = v.mysqlRef(q+".target", t.Target)
		v.tableNames(q+".tables", t.Tables)
		v.tableNames(q+".exclude_tables", t.ExcludeTables)
		v.intRange(q+".workers", t.Workers, 1, 256, DefaultVerifyWorkers)
		v.durRange(q+".chunk_time", t.ChunkTime, 10*time.Millisecond, time.Minute, DefaultChunkTime)
		v.intRange(q+".max_threads_running", t.MaxThreadsRunning, 1, 100000, DefaultMaxThreadsRunning)
	}
	if o := j.Objects; o != nil {
		q := p + ".objects"
		o.SourceLocation = v.location(q+".source", o.Source, q+".source_s3", o.SourceS3)
		o.TargetLocation = v.location(q+".target", o.Target, q+".target_s3", o.TargetS3)
		v.patterns(q+".include", o.Include)
		v.patterns(q+".exclude", o.Exclude)
		v.intRange(q+".workers", o.Workers, 1, 4096, DefaultObjectWorkers)
	}
}
