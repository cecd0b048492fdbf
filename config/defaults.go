package config

import "time"

// Defaults. Engine commands use the same values as their flag defaults, so a
// job from a file and a job from flags behave alike. docs/CONFIG.md lists them.
const (
	DefaultWorkers            = 64
	DefaultPartWorkers        = 4
	DefaultPartSize           = 64 * MiB
	DefaultMultipartThreshold = 64 * MiB
	DefaultCopyCutoff         = 4 * GiB
	DefaultBufferMemory       = 1 * GiB
	DefaultServerSideCopy     = "auto"
	DefaultSyncMode           = "journal"

	DefaultSnapshot          = "auto"
	DefaultSnapshotWorkers   = 4
	DefaultChunkTime         = 500 * time.Millisecond
	DefaultHeartbeatInterval = 250 * time.Millisecond
	DefaultBatchRows         = 5000
	DefaultBatchBytes        = 16 * MiB
	DefaultBatchTime         = 200 * time.Millisecond

	DefaultVerifyWorkers     = 4
	DefaultMaxThreadsRunning = 50
	DefaultObjectWorkers     = 64

	DefaultDaemonListen = "127.0.0.1:9187"
)

// defaulter is implemented by every struct with defaults; the decoder calls
// it on each new value before decoding the file's fields over it, so a field
// the file leaves out keeps its default and one it sets (even to 0) is
// validated.
type defaulter interface{ setDefaults() }

// DefaultSync returns a sync job with every default set (for `evac sync`
// without a config file).
func DefaultSync() SyncJob { var j SyncJob; j.setDefaults(); return j }

// DefaultReplicate returns a replicate job with every default set.
func DefaultReplicate() ReplicateJob { var j ReplicateJob; j.setDefaults(); return j }

// DefaultVerifyTables returns table verification settings with defaults.
func DefaultVerifyTables() VerifyTables { var j VerifyTables; j.setDefaults(); return j }

// DefaultVerifyObjects returns object verification settings with defaults.
func DefaultVerifyObjects() VerifyObjects { var j VerifyObjects; j.setDefaults(); return j }

func (f *File) setDefaults() {
	f.Version = 1
	f.Daemon.Listen = DefaultDaemonListen
}

func (j *SyncJob) setDefaults() {
	j.Workers = DefaultWorkers
	j.PartWorkers = DefaultPartWorkers
	j.PartSize = DefaultPartSize
	j.MultipartThreshold = DefaultMultipartThreshold
	j.CopyCutoff = DefaultCopyCutoff
	j.BufferMemory = DefaultBufferMemory
	j.ServerSideCopy = DefaultServerSideCopy
	j.Mode = DefaultSyncMode
}

func (j *ReplicateJob) setDefaults() {
	j.Snapshot = DefaultSnapshot
	j.SnapshotWorkers = DefaultSnapshotWorkers
	j.ChunkTime = DefaultChunkTime
	j.HeartbeatInterval = DefaultHeartbeatInterval
	j.BatchRows = DefaultBatchRows
	j.BatchBytes = DefaultBatchBytes
	j.BatchTime = DefaultBatchTime
}

func (j *VerifyTables) setDefaults() {
	j.Workers = DefaultVerifyWorkers
	j.ChunkTime = DefaultChunkTime
	j.MaxThreadsRunning = DefaultMaxThreadsRunning
}

func (j *VerifyObjects) setDefaults() {
	j.Workers = DefaultObjectWorkers
}
