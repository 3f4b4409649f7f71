package main

import (
	"flag"
	"os"
	"path/filepath"

	"berth.dev/berth/compiler/diag"
)

// chartCacheFlag adds --chart-cache: where charts from outside the
// repository are kept (berth chart pull writes it; lint, plan and render
// read it).
func chartCacheFlag(fs *flag.FlagSet) *string {
	return fs.String("chart-cache", defaultChartCache(), "directory of charts fetched from outside the repository (berth chart pull)")
}

// defaultChartCache is $BERTH_CHART_CACHE, else the user's cache
// directory.
func defaultChartCache() string {
	if d := os.Getenv("BERTH_CHART_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "berth", "charts")
	}
	return ""
}

func hasErrors(ds []diag.Diagnostic) bool {
	errs, _ := diag.Count(ds)
	return errs > 0
}
