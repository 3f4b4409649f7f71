package render

import (
	"bufio"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler/load"
	"berth.dev/berth/compiler/plan"
)

// Print writes docs as one YAML stream, each document after a
// "# Source:" comment naming its file (and what rendered it), as `helm
// template` does. The values of Secrets are redacted to the digest the
// plan shows, unless showSecrets.
func Print(w io.Writer, docs []load.Document, showSecrets bool) error {
	bw := bufio.NewWriter(w)
	for i := range docs {
		d := &docs[i]
		fmt.Fprintf(bw, "---\n# Source: %s", d.File)
		if d.Origin != "" {
			fmt.Fprintf(bw, " (%s)", d.Origin)
		}
		bw.WriteString("\n")
		n := d.Node
		if !showSecrets && isSecret(n) {
			n = redactSecret(n)
		}
		enc := yaml.NewEncoder(bw)
		enc.SetIndent(2)
		if err := enc.Encode(clean(n)); err != nil {
			return fmt.Errorf("%s: %w", d.File, err)
		}
		if err := enc.Close(); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func isSecret(n *yaml.Node) bool {
	av, k := mapValue(n, "apiVersion"), mapValue(n, "kind")
	return av != nil && k != nil && av.Value == "v1" && k.Value == "Secret"
}

// redactSecret returns a copy of a Secret whose data and stringData
// values are replaced by their digests.
func redactSecret(n *yaml.Node) *yaml.Node {
	c := copyNode(n)
	for _, key := range []string{"data", "stringData"} {
		m := mapValue(c, key)
		if m == nil || m.Kind != yaml.MappingNode {
			continue
		}
		for i := 1; i < len(m.Content); i += 2 {
			v := m.Content[i]
			*v = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: plan.Sensitive(v.Value).Redacted()}
		}
	}
	return c
}

func copyNode(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, x := range n.Content {
		c.Content[i] = copyNode(x)
	}
	return &c
}

// clean returns n without comments and flow style, so that every
// document prints as plain block YAML whatever its source looked like.
func clean(n *yaml.Node) *yaml.Node {
	if n.Style&yaml.FlowStyle != 0 || n.HeadComment != "" || n.LineComment != "" || n.FootComment != "" {
		c := *n
		c.Style &^= yaml.FlowStyle
		c.HeadComment, c.LineComment, c.FootComment = "", "", ""
		n = &c
	}
	if len(n.Content) == 0 {
		return n
	}
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, x := range n.Content {
		c.Content[i] = clean(x)
	}
	return &c
}

// Origins maps "Kind namespace/name" of every rendered document to what
// rendered it (Document.Origin), for plandiff.Diff.SetSources.
func Origins(docs []load.Document) map[string]string {
	out := map[string]string{}
	for i := range docs {
		d := &docs[i]
		if d.Origin == "" {
			continue
		}
		kind := mapValue(d.Node, "kind")
		md := mapValue(d.Node, "metadata")
		name := mapValue(md, "name")
		if kind == nil || name == nil {
			continue
		}
		id := kind.Value + " " + name.Value
		if !clusterScoped(kind.Value) {
			ns := "default"
			if v := mapValue(md, "namespace"); v != nil && v.Value != "" {
				ns = v.Value
			}
			id = kind.Value + " " + ns + "/" + name.Value
		}
		out[id] = d.Origin
	}
	return out
}
