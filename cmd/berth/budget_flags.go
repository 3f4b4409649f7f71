package main

import (
	"flag"

	"berth.dev/berth/compiler/budget"
)

// budgetFlags registers one flag per input budget (--max-file-bytes,
// --max-eval-time, ...) on the commands that read a repository; the
// budget errors name the same flags.
func budgetFlags(fs *flag.FlagSet, l *budget.Limits) {
	for _, k := range budget.All() {
		fs.Var(budget.Value(l, k), k.Flag(), "budget: "+k.Help())
	}
}
