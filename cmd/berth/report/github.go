package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"berth.dev/berth/compiler/diag"
)

// GitHub prints GitHub Actions workflow commands (::error file=...::),
// which the Actions runner turns into annotations on the pull request.
type GitHub struct{}

// Format implements Formatter.
func (GitHub) Format(w io.Writer, r Result) error {
	bw := bufio.NewWriter(w)
	for _, d := range r.Diagnostics {
		level := "error"
		switch d.Severity {
		case diag.Warning:
			level = "warning"
		case diag.Note:
			level = "notice"
		}
		props := "file=" + escapeProperty(d.File)
		if d.Line > 0 {
			props += fmt.Sprintf(",line=%d,col=%d", d.Line, d.Col)
		}
		props += ",title=" + escapeProperty("berth "+d.Rule)
		msg := d.Message
		if d.Path != "" {
			msg = d.Path + ": " + msg
		}
		fmt.Fprintf(bw, "::%s %s::%s\n", level, props, escapeData(msg))
	}
	bw.WriteString(r.Summary.Line())
	bw.WriteByte('\n')
	return bw.Flush()
}

// The runner decodes these escapes (actions/toolkit, command.ts).
var (
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

func escapeData(s string) string     { return dataEscaper.Replace(s) }
func escapeProperty(s string) string { return propertyEscaper.Replace(s) }
