package verify

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// maxSummaryLines bounds the differing keys shown per table or prefix so
// the summary fits on one screen; the report lists them all.
const maxSummaryLines = 5

// WriteSummary prints the human summary of a report.
func WriteSummary(w io.Writer, r *Report) {
	fmt.Fprintf(w, "evac verify: %s  (%d tables, %d differing, %d rows; %d objects, %d differing) in %.1fs\n",
		r.Verdict, r.Summary.Tables, r.Summary.TablesDiffering, r.Summary.Rows, r.Summary.Objects, r.Summary.ObjectsDiffer, r.DurationS)
	for _, t := range r.Tables {
		if t.Status == StatusMatch {
			continue
		}
		kind := ""
		if t.Keyless {
			kind = " (no key: whole-table verdict)"
		}
		fmt.Fprintf(w, "  %-30s %-17s %d rows, %d/%d chunks differ, %d rows differ%s\n", t.Table, t.Status, t.SourceRows, t.ChunksDiffer, t.Chunks, t.DifferingKeys, kind)
		if t.Error != "" {
			fmt.Fprintf(w, "      %s\n", t.Error)
		}
		for i, d := range t.Diffs {
			if i == maxSummaryLines {
				fmt.Fprintf(w, "      ... %d more in the report\n", t.DifferingKeys-int64(i))
				break
			}
			fmt.Fprintf(w, "      %-18s %s\n", d.Kind, describeRow(d))
		}
	}
	if n := r.Summary.Tables - r.Summary.TablesDiffering; n > 0 {
		fmt.Fprintf(w, "  %d table(s) match\n", n)
	}
	for _, o := range r.Objects {
		fmt.Fprintf(w, "  objects %s -> %s: %s, %d differ; %d by ETag (MD5), %d by stored checksum, %d by content, %d by size only\n",
			o.Source, o.Target, o.Status, o.Differing, o.ByETag, o.ByChecksum, o.ByContent, o.SizeOnly)
		switch o.Status {
		case StatusUnverified:
			fmt.Fprintf(w, "      %d object(s) could be compared by size only (no stored checksum): rerun with --deep to compare the bytes, or --allow-size-only to accept\n", o.SizeOnly)
		case StatusEmptySource:
			fmt.Fprintf(w, "      the source listing is empty: check the path or prefix (an empty source proves nothing)\n")
		}
		shown := 0
		for _, p := range o.Prefixes {
			if p.Differing > 0 && shown < maxSummaryLines {
				shown++
				fmt.Fprintf(w, "      prefix %q: %d of %d differ\n", p.Prefix, p.Differing, p.SourceObjects)
			}
		}
		for i, d := range o.Diffs {
			if i == maxSummaryLines {
				fmt.Fprintf(w, "      ... %d more in the report\n", o.Differing-int64(i))
				break
			}
			fmt.Fprintf(w, "      %-18s %s\n", d.Kind, d.Key)
		}
	}
	writeRPO(w, r.RPO)
	for _, s := range r.Warnings {
		fmt.Fprintf(w, "  note: %s\n", s)
	}
	fmt.Fprintf(w, "report sha256: %s\n", r.SHA256)
}

func describeRow(d RowDiff) string {
	if d.RowHash != "" {
		return fmt.Sprintf("row hash %s: %d on source, %d on target", d.RowHash, d.SourceCount, d.TargetCount)
	}
	names := make([]string, 0, len(d.Key))
	for k := range d.Key {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k + "=" + d.Key[k]
	}
	s := strings.Join(parts, ", ")
	if len(d.Columns) > 0 {
		s += "  columns: " + strings.Join(d.Columns, ", ")
	}
	return s
}

func writeRPO(w io.Writer, r *RPO) {
	if r == nil {
		return
	}
	if l := r.Lag; l != nil {
		fmt.Fprintf(w, "  RPO lag (%s): now %.0fms, p50 %.0fms, p99 %.0fms, max %.0fms over %d samples (±%.1fms; clock offset %.1fms)\n",
			l.Method, l.NowMS, l.P50MS, l.P99MS, l.MaxMS, l.Samples, l.ErrorBoundMS, l.ClockOffsetMS)
	}
	if b := r.Behind; b != nil {
		switch {
		case b.Transactions != nil:
			fmt.Fprintf(w, "  RPO behind: %d source transaction(s) not applied (%s %s vs %s)\n", *b.Transactions, b.PositionKind, b.SourcePosition, b.TargetPosition)
		case b.Bytes != nil:
			fmt.Fprintf(w, "  RPO behind: %d binlog byte(s) not applied (%s vs %s)\n", *b.Bytes, b.SourcePosition, b.TargetPosition)
		}
	}
	if o := r.Objects; o != nil {
		fmt.Fprintf(w, "  RPO objects: %d not copied (%d bytes), oldest change %.0fs ago\n", o.Count, o.Bytes, o.OldestChangeAgeS)
	}
}
