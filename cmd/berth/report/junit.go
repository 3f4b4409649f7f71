package report

import (
	"encoding/xml"
	"io"
	"strings"

	"berth.dev/berth/compiler/diag"
)

// JUnit prints a JUnit XML report shaped like kubeconform's: a test suite
// per file, a test case per object (class name Kind@apiVersion, name
// namespace/name), a failure per error. Warnings are not failures; they
// appear in the case's system-out. Diagnostics that belong to no object
// (a syntax error) get a case of their own named after the file.
type JUnit struct{}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	ID       int         `xml:"id,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string         `xml:"name,attr"`
	ClassName string         `xml:"classname,attr"`
	Failures  []junitFailure `xml:"failure,omitempty"`
	SystemOut string         `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Content string `xml:",chardata"`
}

// Format implements Formatter.
func (JUnit) Format(w io.Writer, r Result) error {
	root := junitSuites{Name: "berth"}
	suites := map[string]int{} // file -> index in root.Suites
	suite := func(file string) *junitSuite {
		i, ok := suites[file]
		if !ok {
			i = len(root.Suites)
			suites[file] = i
			root.Suites = append(root.Suites, junitSuite{Name: file, ID: i + 1})
		}
		return &root.Suites[i]
	}
	type caseKey struct{ file, id string }
	cases := map[caseKey][2]int{} // -> suite index, case index
	for _, o := range r.Objects {
		s := suite(o.File)
		cases[caseKey{o.File, o.ID}] = [2]int{suites[o.File], len(s.Cases)}
		s.Cases = append(s.Cases, junitCase{Name: objectName(o.ID), ClassName: o.Kind + "@" + o.APIVersion})
	}
	for _, d := range r.Diagnostics {
		k := caseKey{d.File, d.Object}
		at, ok := cases[k]
		if !ok {
			s := suite(d.File)
			name := d.Object
			if name == "" {
				name = d.File
			}
			at = [2]int{suites[d.File], len(s.Cases)}
			cases[k] = at
			s.Cases = append(s.Cases, junitCase{Name: name, ClassName: d.Rule})
		}
		c := &root.Suites[at[0]].Cases[at[1]]
		if d.Severity != diag.Error {
			c.SystemOut += d.Severity.String() + ": " + d.String() + "\n"
			continue
		}
		c.Failures = append(c.Failures, junitFailure{Message: d.String(), Type: d.Rule})
	}
	for i := range root.Suites {
		s := &root.Suites[i]
		s.Tests = len(s.Cases)
		for _, c := range s.Cases {
			if len(c.Failures) > 0 {
				s.Failures++
			}
		}
		root.Tests += s.Tests
		root.Failures += s.Failures
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(root); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// objectName turns "Kind ns/name" into "ns/name", as kubeconform names
// its cases.
func objectName(id string) string {
	if _, rest, ok := strings.Cut(id, " "); ok {
		return rest
	}
	return id
}
