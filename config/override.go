package config

import (
	"strings"

	"github.com/spf13/pflag"

	"github.com/evac-dev/evac/internal/redact"
)

// Flags override the file. An engine command:
//
//  1. starts from the job in the file (a.cfg.Job(name).Sync) or from
//     DefaultSync() when there is no file,
//  2. calls Override for every flag it declares, which copies the flag's
//     value only when the user set it on the command line,
//  3. calls CheckSync (CheckReplicate, ...) to validate the merged job and
//     resolve its locations/DSNs; errors then name the flag ("--workers").
//
//	job := config.DefaultSync()
//	if j := a.cfg.Job(name); j != nil && j.Sync != nil { job = *j.Sync }
//	config.Override(cmd.Flags(), "workers", &job.Workers, flags.workers)
//	config.Override(cmd.Flags(), "part-size", &job.PartSize, flags.partSize)
//	if err := a.cfg.CheckSync(&job); err != nil { return usage(err) }
//
// Flag names are the YAML keys with "_" replaced by "-".

// Override sets *dst to value when the flag called name was set on the
// command line; an unset flag leaves the file's (or the default) value.
func Override[T any](fs *pflag.FlagSet, name string, dst *T, value T) {
	if fs.Changed(name) {
		*dst = value
	}
}

// CheckSync validates a sync job after flag overrides and resolves its
// locations (source_s3/target_s3 against f's s3: entries). f may be nil.
func (f *File) CheckSync(j *SyncJob) error {
	v := &validator{f: f, flags: true}
	v.sync("sync", j)
	return v.errs.err()
}

// CheckReplicate validates a replicate job after flag overrides and
// resolves its DSNs into SourceDSN/TargetDSN, expanding ${VAR} in DSNs given
// by flags (--source 'evac:${MYSQL_PASSWORD}@tcp(db1:3306)/'). f may be nil.
func (f *File) CheckReplicate(j *ReplicateJob) error {
	v := &validator{f: f, flags: true}
	v.replicate("replicate", j)
	registerReplicate(j)
	return v.errs.err()
}

// CheckVerify validates a verify job after flag overrides. f may be nil.
func (f *File) CheckVerify(j *VerifyJob) error {
	v := &validator{f: f, flags: true}
	v.verify("verify", j)
	return v.errs.err()
}

// S3Flags are one side's S3 flags (--source-endpoint, --source-region,
// --source-profile, --source-path-style); engine commands declare them
// with AddS3Flags(fs, "source") and AddS3Flags(fs, "target").
type S3Flags struct {
	side string
	v    S3
	ps   bool
}

// AddS3Flags declares --SIDE-endpoint, --SIDE-region, --SIDE-profile and
// --SIDE-path-style on fs.
func AddS3Flags(fs *pflag.FlagSet, side string) *S3Flags {
	sf := &S3Flags{side: side}
	fs.StringVar(&sf.v.Endpoint, side+"-endpoint", "", "S3 endpoint URL of the "+side+" (empty for AWS)")
	fs.StringVar(&sf.v.Region, side+"-region", "", "S3 region of the "+side)
	fs.StringVar(&sf.v.Profile, side+"-profile", "", "AWS shared-config profile for the "+side)
	fs.BoolVar(&sf.ps, side+"-path-style", false, "path-style addressing for the "+side+" (default: on with a custom endpoint)")
	return sf
}

// Apply returns base (the s3: entry from the file, or nil) with the flags
// the user set on top. It returns nil when neither says anything, meaning
// the standard AWS chain.
func (sf *S3Flags) Apply(fs *pflag.FlagSet, base *S3) (*S3, error) {
	var out S3
	if base != nil {
		out = *base
	}
	p := sf.side + "-"
	Override(fs, p+"endpoint", &out.Endpoint, sf.v.Endpoint)
	Override(fs, p+"region", &out.Region, sf.v.Region)
	Override(fs, p+"profile", &out.Profile, sf.v.Profile)
	if fs.Changed(p + "path-style") {
		ps := sf.ps
		out.PathStyle = &ps
	}
	if base == nil && out == (S3{}) {
		return nil, nil
	}
	v := &validator{flags: true, flagPrefix: sf.side + "-"}
	v.s3(sf.side, &out)
	if err := v.errs.err(); err != nil {
		return nil, err
	}
	return &out, nil
}

// registerSecrets hands every secret in f to the redactor.
func registerSecrets(f *File) {
	for _, s := range f.S3 {
		redact.Register(s.SecretAccessKey, s.SessionToken)
	}
	for _, m := range f.MySQL {
		registerDSN(m.DSN)
	}
	for _, j := range f.Jobs {
		if j.Replicate != nil {
			registerReplicate(j.Replicate)
		}
		if j.Verify != nil && j.Verify.Tables != nil {
			registerDSN(j.Verify.Tables.Source)
			registerDSN(j.Verify.Tables.Target)
		}
	}
}

func registerReplicate(j *ReplicateJob) {
	registerDSN(j.Source)
	registerDSN(j.Target)
	registerDSN(j.SourceDSN)
	registerDSN(j.TargetDSN)
}

// registerDSN registers the password of a DSN, also of one that does not
// parse: everything between the first ":" and the last "@" before "(" or "/".
func registerDSN(dsn string) {
	if dsn == "" {
		return
	}
	at := lastAt(dsn)
	if at < 0 {
		return
	}
	if _, pw, ok := strings.Cut(dsn[:at], ":"); ok {
		redact.Register(pw)
	}
}

func lastAt(dsn string) int {
	// Like go-sql-driver: the last "/" ends the address, the last "@"
	// before it ends the password.
	end := strings.LastIndexByte(dsn, '/')
	if end < 0 {
		end = len(dsn)
	}
	return strings.LastIndexByte(dsn[:end], '@')
}
