package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

// TestWriteJSONIsEncodingJSON: the streamed, parallel encoding is byte for
// byte what encoding/json writes, for every shape of plan and any number
// of workers (the compiler's golden plans check it on real plans).
func TestWriteJSONIsEncodingJSON(t *testing.T) {
	big := &Plan{FormatVersion: FormatVersion, Revision: "r<&>", Nodes: []NodePlan{{Node: Node{Name: "n1"}}}}
	for i := range 300 {
		big.Nodes[0].Pods = append(big.Nodes[0].Pods, Pod{Namespace: "default", Name: fmt.Sprintf("p-%d", i), Hash: "h",
			Spec: PodSpec{Containers: []Container{{Name: "c", Env: []EnvVar{{Name: "S", Value: Sensitive("x")}}}}}})
		big.Services = append(big.Services, Service{Namespace: "default", Name: fmt.Sprintf("s-%d", i)})
	}
	big.Secrets = []ConfigData{NewConfigData("default", "s", "Opaque", map[string]Secret{"k": Sensitive("v")})}
	for name, p := range map[string]*Plan{
		"empty":    {},
		"no nodes": {FormatVersion: FormatVersion, Nodes: []NodePlan{}},
		"only workloads": {FormatVersion: FormatVersion, Nodes: []NodePlan{{Node: Node{Name: "a"}}},
			Workloads: []Workload{{Kind: "Pod", Namespace: "default", Name: "w"}}},
		"big": big,
	} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(p); err != nil {
			t.Fatal(err)
		}
		for _, workers := range []int{1, 3, 8} {
			var got bytes.Buffer
			if err := WriteJSON(&got, p, workers); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Errorf("%s, %d workers: differs from encoding/json:\n%s\nwant\n%s", name, workers, got.String(), want.String())
			}
		}
	}
}
