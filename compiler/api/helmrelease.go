package api

// HelmRelease is berth.dev/v1 HelmRelease: a chart rendered into the
// objects it makes (compiler/render). Only its identity is decoded: what
// it renders takes part in the plan, the release itself runs nothing.
type HelmRelease struct {
	TypeMeta `yaml:",inline"`
	Metadata ObjectMeta `json:"metadata" yaml:"metadata"`
}
