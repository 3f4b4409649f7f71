package report

import (
	"bufio"
	"io"
)

// Text prints one diagnostic a line (file:line:col: severity: path:
// message) and the summary line, for people and for editors that jump to
// file:line:col.
type Text struct{}

// Format implements Formatter.
func (Text) Format(w io.Writer, r Result) error {
	bw := bufio.NewWriter(w)
	for _, d := range r.Diagnostics {
		bw.WriteString(d.String())
		bw.WriteByte('\n')
	}
	bw.WriteString(r.Summary.Line())
	bw.WriteByte('\n')
	return bw.Flush()
}
