package report

import (
	"encoding/json"
	"io"
	"net/url"
	"path/filepath"
	"slices"

	"berth.dev/berth/compiler/diag"
)

// SARIF prints a SARIF 2.1.0 log (the format GitHub code scanning and
// most security dashboards import): one run, a rule per diagnostic rule
// id, a result per diagnostic with its region.
type SARIF struct{}

const (
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	sarifVersion = "2.1.0"
	toolURI      = "https://berth.dev"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string       `json:"id"`
	ShortDescription sarifMessage `json:"shortDescription"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifMessage    `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical  `json:"physicalLocation"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

type sarifLogical struct {
	Name               string `json:"name,omitempty"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

// ruleText describes the rules berth's linter reports; a rule missing
// here is described by its id.
var ruleText = map[string]string{
	"schema":           "A value does not match the schema of its kind.",
	"unknown-field":    "A field that berth does not support.",
	"syntax":           "The file is not valid YAML or JSON, or a document is not an object.",
	"cue":              "A CUE package does not evaluate to concrete objects.",
	"io":               "A file cannot be read.",
	"duplicate-object": "Two objects share kind, namespace and name.",
}

// Format implements Formatter.
func (SARIF) Format(w io.Writer, r Result) error {
	var ids []string
	for _, d := range r.Diagnostics {
		if !slices.Contains(ids, d.Rule) {
			ids = append(ids, d.Rule)
		}
	}
	slices.Sort(ids)
	rules := make([]sarifRule, len(ids))
	for i, id := range ids {
		text := ruleText[id]
		if text == "" {
			text = id
		}
		rules[i] = sarifRule{ID: id, ShortDescription: sarifMessage{text}}
	}
	results := make([]sarifResult, 0, len(r.Diagnostics))
	for _, d := range r.Diagnostics {
		level := "error"
		switch d.Severity {
		case diag.Warning:
			level = "warning"
		case diag.Note:
			level = "note"
		}
		loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: fileURI(d.File)}}}
		if d.Line > 0 {
			loc.PhysicalLocation.Region = &sarifRegion{StartLine: d.Line, StartColumn: d.Col}
		}
		if d.Path != "" || d.Object != "" {
			name := d.Object
			if d.Path != "" {
				name += ": " + d.Path
			}
			loc.LogicalLocations = []sarifLogical{{FullyQualifiedName: name, Kind: "object"}}
		}
		msg := d.Message
		if d.Path != "" {
			msg = d.Path + ": " + msg
		}
		results = append(results, sarifResult{
			RuleID:    d.Rule,
			RuleIndex: slices.Index(ids, d.Rule),
			Level:     level,
			Message:   sarifMessage{msg},
			Locations: []sarifLocation{loc},
		})
	}
	log := sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{{
		Tool:    sarifTool{Driver: sarifDriver{Name: "berth", InformationURI: toolURI, Rules: rules}},
		Results: results,
	}}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}

// fileURI is a relative URI reference for a path ("my app/a.yaml" becomes
// "my%20app/a.yaml"), as SARIF's artifactLocation.uri requires.
func fileURI(path string) string {
	return (&url.URL{Path: filepath.ToSlash(path)}).EscapedPath()
}
