package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// The plan's two digests live here, and nowhere else: the revision name
// of a plan compiled without a commit (ContentRevision), and the digest
// of the whole document that `berth status` shows as the plan hash, equal
// on every node of one commit (Digest).

// Digest is the SHA-256 of p's JSON document, in hex: equal plans, equal
// digests, on every node.
func (p *Plan) Digest() string {
	b, err := json.Marshal(p)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ContentRevision names a plan by its content: the digest of every pod's
// hashes, every service and workload, the content hashes of the
// ConfigMaps and Secrets, and the inventory. Equal plans get
// equal names.
func ContentRevision(p *Plan) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, n := range p.Nodes {
		_ = enc.Encode(n.Node)
		for _, pod := range n.Pods {
			h.Write([]byte(pod.Key() + " " + pod.Hash + " " + pod.ConfigHash + "\n"))
		}
	}
	for _, s := range p.Services {
		_ = enc.Encode(s)
	}
	for _, c := range p.ConfigMaps {
		h.Write([]byte("ConfigMap " + c.Key() + " " + c.Hash + "\n"))
	}
	for _, c := range p.Secrets {
		h.Write([]byte("Secret " + c.Key() + " " + c.Hash + "\n"))
	}
	for _, w := range p.Workloads {
		t := w.Template
		w.Template = nil
		_ = enc.Encode(w)
		if t != nil {
			h.Write([]byte(t.Hash + " " + t.ConfigHash + "\n"))
		}
	}
	for _, np := range p.NetworkPolicies {
		_ = enc.Encode(np)
	}
	for _, ns := range p.Namespaces {
		_ = enc.Encode(ns)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:16]
}
