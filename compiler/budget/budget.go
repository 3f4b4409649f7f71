// Package budget holds the limits on what reading one repository may cost
// (files, bytes, objects, YAML alias expansion, evaluation time and
// memory, what one render makes) and the error of an input past one of them. Every reader of
// user input (the Git extraction, the loader, CUE evaluation, the Helm
// and kustomize renderers) takes its limits from one Limits value, so
// that one set of flags governs them all and every refusal reads alike.
//
// A budget is checked where the input is read, before the cost is paid:
// a file's size before it is read, a tree's file count before it is
// written out, an alias's expansion before the schema walk.
package budget

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"berth.dev/berth/compiler/diag"
)

// Limit names one budget.
type Limit int

// The budgets.
const (
	// Files is the number of files of one commit, or of one lint run.
	Files Limit = iota
	// TotalBytes is the size of all files of one commit or lint run.
	TotalBytes
	// FileBytes is the size of one file.
	FileBytes
	// ObjectBytes is the size of one object, counted on its JSON encoding
	// with YAML aliases expanded: the API server's limit is 1 MiB.
	ObjectBytes
	// Objects is the number of objects of one repository.
	Objects
	// AliasExpansion is how many times larger a YAML document may grow
	// when its aliases are expanded, counted in nodes.
	AliasExpansion
	// EvalTime is the wall-clock time of one evaluation (a CUE package, a
	// Helm chart, a kustomization).
	EvalTime
	// EvalMemory is the memory of one evaluation.
	EvalMemory
	// CompileTime is the wall-clock time of one revision's whole compile
	// in the daemon (fetch excluded).
	CompileTime
	// RenderBytes is the YAML one render (a kustomization, a chart) makes.
	RenderBytes
	// RenderObjects is the number of objects one render makes.
	RenderObjects
)

type unit int

const (
	count unit = iota
	bytes
	duration
	ratio
)

type spec struct {
	what string // in a sentence: "file size"
	flag string
	unit unit
	def  int64
	help string
}

const (
	kib = 1 << 10
	mib = 1 << 20
)

// specs is indexed by Limit. The defaults are far above what a real
// repository reaches and far below what hurts a node.
var specs = [...]spec{
	Files:          {"files", "max-files", count, 100_000, "files per commit (or lint run)"},
	TotalBytes:     {"total size", "max-total-bytes", bytes, 256 * mib, "bytes of all files of a commit (or lint run)"},
	FileBytes:      {"file size", "max-file-bytes", bytes, 16 * mib, "bytes per file"},
	ObjectBytes:    {"object size", "max-object-bytes", bytes, 1 * mib, "bytes per object, counted on its JSON encoding (the API server's limit)"},
	Objects:        {"objects", "max-objects", count, 100_000, "objects per repository"},
	AliasExpansion: {"YAML alias expansion", "max-alias-expansion", ratio, 16, "how many times a YAML document may grow when its aliases are expanded"},
	EvalTime:       {"evaluation time", "max-eval-time", duration, int64(30 * time.Second), "wall-clock time of one evaluation (a CUE package, a chart, a kustomization)"},
	EvalMemory:     {"evaluation memory", "max-eval-memory", bytes, 512 * mib, "memory of one evaluation (a CUE package, a chart, a kustomization)"},
	CompileTime:    {"compile time", "max-compile-time", duration, int64(10 * time.Minute), "wall-clock time of one revision's compile in the daemon"},
	RenderBytes:    {"render output", "max-render-bytes", bytes, 64 * mib, "bytes of YAML one render (a chart, a kustomization) makes"},
	RenderObjects:  {"rendered objects", "max-render-objects", count, 10_000, "objects one render (a chart, a kustomization) makes"},
}

// All lists every limit, in a stable order (for flags and docs).
func All() []Limit {
	out := make([]Limit, len(specs))
	for i := range specs {
		out[i] = Limit(i)
	}
	return out
}

// String is what the limit counts, as in a sentence ("file size").
func (k Limit) String() string { return specs[k].what }

// Flag is the command-line flag that sets the limit, without dashes.
func (k Limit) Flag() string { return specs[k].flag }

// Help is the flag's usage text.
func (k Limit) Help() string { return specs[k].help }

// Format renders a value of this limit: "16 MiB", "30s", "100000".
func (k Limit) Format(v int64) string {
	switch specs[k].unit {
	case bytes:
		return formatBytes(v)
	case duration:
		return time.Duration(v).String()
	case ratio:
		return strconv.FormatInt(v, 10) + "x"
	}
	return strconv.FormatInt(v, 10)
}

// Limits are the budgets of one run. A zero field means the default.
type Limits struct {
	Files          int64
	TotalBytes     int64
	FileBytes      int64
	ObjectBytes    int64
	Objects        int64
	AliasExpansion int64
	EvalTime       time.Duration
	EvalMemory     int64
	CompileTime    time.Duration
	RenderBytes    int64
	RenderObjects  int64
}

func (l *Limits) field(k Limit) *int64 {
	switch k {
	case Files:
		return &l.Files
	case TotalBytes:
		return &l.TotalBytes
	case FileBytes:
		return &l.FileBytes
	case ObjectBytes:
		return &l.ObjectBytes
	case Objects:
		return &l.Objects
	case AliasExpansion:
		return &l.AliasExpansion
	case EvalTime:
		return (*int64)(&l.EvalTime)
	case EvalMemory:
		return &l.EvalMemory
	case CompileTime:
		return (*int64)(&l.CompileTime)
	case RenderBytes:
		return &l.RenderBytes
	case RenderObjects:
		return &l.RenderObjects
	}
	panic(fmt.Sprintf("budget: unknown limit %d", k))
}

// Get returns the value of one limit, its default when unset.
func (l Limits) Get(k Limit) int64 {
	if v := *l.field(k); v > 0 {
		return v
	}
	return specs[k].def
}

// Defaults returns l with every unset field at its default.
func (l Limits) Defaults() Limits {
	for _, k := range All() {
		*l.field(k) = l.Get(k)
	}
	return l
}

// Check returns an *Exceeded when got is over limit k, else nil.
func (l Limits) Check(k Limit, where string, got int64) error {
	if max := l.Get(k); got > max {
		return &Exceeded{Limit: k, Where: where, Got: got, Max: max}
	}
	return nil
}

// Exceeded is the error of an input past a budget.
type Exceeded struct {
	Limit Limit
	// Where is the file, object or commit that went over.
	Where string
	// Got is what was counted when the reader stopped (0: not counted;
	// a reader that stops early reports a lower bound).
	Got int64
	Max int64
}

// Prefix starts every budget error, so that a reader (a CI log, berth
// status) finds them.
const Prefix = "budget exceeded"

// Error reads "budget exceeded (file size): 300 MiB, over the limit of
// 16 MiB (raise it with --max-file-bytes)". Where is left to the caller,
// who usually puts it first as a diagnostic's position.
func (e *Exceeded) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): ", Prefix, e.Limit)
	if e.Got > 0 {
		b.WriteString(e.Limit.Format(e.Got) + ", over")
	} else {
		b.WriteString("over")
	}
	fmt.Fprintf(&b, " the limit of %s (raise it with --%s)", e.Limit.Format(e.Max), e.Limit.Flag())
	return b.String()
}

// Rule is the diagnostic rule of a budget refusal.
const Rule = "budget"

// Diagnostic turns the error into an error diagnostic at Where (pos, when
// given, is more precise).
func (e *Exceeded) Diagnostic(pos diag.Pos) diag.Diagnostic {
	if pos.File == "" {
		pos.File = e.Where
	}
	return diag.Diagnostic{Pos: pos, Severity: diag.Error, Rule: Rule, Message: e.Error()}
}

// Summary is the one-line reason a revision was refused, for status:
// "budget exceeded (file size, deploy/big.yaml)". ok is false when d is
// not a budget refusal.
func Summary(d diag.Diagnostic) (string, bool) {
	if d.Rule != Rule {
		return "", false
	}
	what, _, ok := strings.Cut(strings.TrimPrefix(d.Message, Prefix+" ("), "):")
	if !ok {
		return "", false
	}
	return fmt.Sprintf("%s (%s, %s)", Prefix, what, d.Pos), true
}

// Tally counts files, bytes and objects against the limits while input
// is read; it is safe for concurrent use.
type Tally struct {
	limits                Limits
	files, bytes, objects atomic.Int64
}

// NewTally starts counting against l.
func NewTally(l Limits) *Tally { return &Tally{limits: l} }

// Limits returns the limits being counted against.
func (t *Tally) Limits() Limits { return t.limits }

// File counts one file of size bytes: its size, the number of files and
// the total. Call it before reading the file.
func (t *Tally) File(where string, size int64) error {
	if err := t.limits.Check(FileBytes, where, size); err != nil {
		return err
	}
	if err := t.limits.Check(Files, where, t.files.Add(1)); err != nil {
		return err
	}
	return t.limits.Check(TotalBytes, where, t.bytes.Add(size))
}

// Objects counts n more objects read from where.
func (t *Tally) Objects(where string, n int) error {
	return t.limits.Check(Objects, where, t.objects.Add(int64(n)))
}

func formatBytes(v int64) string {
	for _, u := range []struct {
		size int64
		name string
	}{{mib, "MiB"}, {kib, "KiB"}} {
		if v >= u.size {
			if v%u.size == 0 {
				return fmt.Sprintf("%d %s", v/u.size, u.name)
			}
			return fmt.Sprintf("%.1f %s", float64(v)/float64(u.size), u.name)
		}
	}
	return fmt.Sprintf("%d bytes", v)
}
