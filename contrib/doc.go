// Package contrib holds what plugs berth into other tools: the systemd
// unit (systemd/), the GitLab CI template (gitlab/), the GitHub Action's
// script (github/, with action.yml at the repository root) and the
// pre-commit hooks (.pre-commit-hooks.yaml at the root). It has no Go
// code; its tests run each integration as its host would.
package contrib
