package plan

// Kubernetes' termination message defaults and policies.
const (
	DefaultTerminationMessagePath         = "/dev/termination-log"
	TerminationMessageFile                = "File"
	TerminationMessageFallbackToLogsOnErr = "FallbackToLogsOnError"
)

// TerminationMessageFile is the container's termination message file.
func (c *Container) TerminationMessageFile() string {
	if c.TerminationMessagePath == "" {
		return DefaultTerminationMessagePath
	}
	return c.TerminationMessagePath
}
