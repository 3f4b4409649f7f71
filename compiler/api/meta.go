// Package api holds the Go types of the Kubernetes objects berth accepts:
// exactly the fields the CUE schemas in schema/ allow, nothing more.
package api

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// TypeMeta is apiVersion and kind.
type TypeMeta struct {
	APIVersion string `json:"apiVersion" yaml:"apiVersion"`
	Kind       string `json:"kind" yaml:"kind"`
}

// ObjectMeta is the subset of metadata berth reads.
type ObjectMeta struct {
	Name string `json:"name" yaml:"name"`
	// GenerateName is a Job's name prefix (object.Decode names the Job).
	GenerateName string            `json:"generateName,omitempty" yaml:"generateName,omitempty"`
	Namespace    string            `json:"namespace,omitempty" yaml:"namespace,omitempty"`
	Labels       map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty" yaml:"annotations,omitempty"`
}

// LabelSelector is a Kubernetes label selector.
type LabelSelector struct {
	MatchLabels      map[string]string          `json:"matchLabels,omitempty" yaml:"matchLabels,omitempty"`
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions,omitempty" yaml:"matchExpressions,omitempty"`
}

// LabelSelectorRequirement is one matchExpressions entry.
type LabelSelectorRequirement struct {
	Key      string   `json:"key" yaml:"key"`
	Operator string   `json:"operator" yaml:"operator"` // In, NotIn, Exists, DoesNotExist
	Values   []string `json:"values,omitempty" yaml:"values,omitempty"`
}

// IntOrString is an int or a string such as a port name or "25%".
type IntOrString struct {
	IsString bool
	IntVal   int32
	StrVal   string
}

// FromInt returns an IntOrString holding i.
func FromInt(i int32) IntOrString { return IntOrString{IntVal: i} }

// String renders the value as written.
func (v IntOrString) String() string {
	if v.IsString {
		return v.StrVal
	}
	return strconv.Itoa(int(v.IntVal))
}

// IsZero reports whether the value is unset.
func (v IntOrString) IsZero() bool { return !v.IsString && v.IntVal == 0 }

// UnmarshalYAML accepts an integer or a string scalar.
func (v *IntOrString) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want an int or a string", n.Line)
	}
	if n.Tag == "!!int" {
		i, err := strconv.ParseInt(n.Value, 0, 32)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		*v = IntOrString{IntVal: int32(i)}
		return nil
	}
	*v = IntOrString{IsString: true, StrVal: n.Value}
	return nil
}

// MarshalJSON renders an int or a string.
func (v IntOrString) MarshalJSON() ([]byte, error) {
	if v.IsString {
		return []byte(strconv.Quote(v.StrVal)), nil
	}
	return []byte(strconv.Itoa(int(v.IntVal))), nil
}

// UnmarshalJSON accepts an int or a string.
func (v *IntOrString) UnmarshalJSON(b []byte) error {
	s := string(b)
	if strings.HasPrefix(s, `"`) {
		u, err := strconv.Unquote(s)
		if err != nil {
			return err
		}
		*v = IntOrString{IsString: true, StrVal: u}
		return nil
	}
	i, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return err
	}
	*v = IntOrString{IntVal: int32(i)}
	return nil
}

// ScaledValue resolves an int-or-percent against total, rounding up when
// roundUp is set (maxSurge) and down otherwise (maxUnavailable), as
// Kubernetes' intstr.GetScaledValueFromIntOrPercent does.
func (v IntOrString) ScaledValue(total int, roundUp bool) (int, error) {
	if !v.IsString {
		return int(v.IntVal), nil
	}
	pct, ok := v.Percent()
	if !ok {
		return 0, fmt.Errorf("%q is not an int or a percentage", v.StrVal)
	}
	if roundUp {
		return (pct*total + 99) / 100, nil
	}
	return pct * total / 100, nil
}

// Percent is the number of a percentage such as "25%", as apps
// validation's getPercentValue reads it; false for an int or a string
// that is not one.
func (v IntOrString) Percent() (int, bool) {
	if !v.IsString {
		return 0, false
	}
	p, ok := strings.CutSuffix(v.StrVal, "%")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(p)
	return n, err == nil
}
