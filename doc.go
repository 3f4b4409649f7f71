// Package berth is the root of the berth module; the command is
// cmd/berth. This package holds only repository-wide tests.
package berth
