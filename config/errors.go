package config

import (
	"fmt"
	"sort"
	"strings"

	"github.com/evac-dev/evac/internal/redact"
)

// Error is one problem in a config file (or in flags applied over it). It
// renders as
//
//	evac.yaml:12:5: jobs[0].sync.workers: must be between 1 and 4096, got 0 (set workers: 64 or remove the line for the default)
//
// File, Line and Column are empty/zero when the problem has no place in a
// file (a flag, a missing file).
type Error struct {
	File    string
	Line    int
	Column  int
	Path    string // field path: "jobs[0].sync.workers"; empty for file-level problems
	Problem string // what is wrong
	Fix     string // what to do about it; may be empty
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
		}
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Problem)
	if e.Fix != "" {
		b.WriteString(" (")
		b.WriteString(e.Fix)
		b.WriteString(")")
	}
	return redact.String(b.String())
}

// maxErrors bounds how many problems one load reports.
const maxErrors = 20

// ErrorList holds every problem found in one file, in file order. Its
// message has one problem per line.
type ErrorList []*Error

func (l ErrorList) Error() string {
	lines := make([]string, 0, len(l)+1)
	for _, e := range l {
		lines = append(lines, e.Error())
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find the first *Error.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

func (l *ErrorList) add(e *Error) {
	if len(*l) < maxErrors {
		*l = append(*l, e)
	}
}

func (l ErrorList) sorted() ErrorList {
	sort.SliceStable(l, func(i, j int) bool {
		if l[i].Line != l[j].Line {
			return l[i].Line < l[j].Line
		}
		return l[i].Column < l[j].Column
	})
	return l
}

func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	return l.sorted()
}

// suggest returns the candidate closest to s when it is a plausible typo.
func suggest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		d := distance(strings.ToLower(s), c)
		if d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || bestD*3 > len(s)+1 {
		return ""
	}
	return best
}

// distance is the Levenshtein edit distance (with adjacent transposition).
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
