package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the scripts run "exec berth ..." against Main in this
// test binary, so the CLI tests need no separate build.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"berth": func() { os.Exit(Main()) },
	})
}

// TestScripts runs testdata/script/*.txtar, one file per behaviour of the
// CLI. UPDATE_GOLDEN=1 (the one switch of every golden
// file) rewrites the expected output in place.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		UpdateScripts:       os.Getenv("UPDATE_GOLDEN") == "1",
	})
}
