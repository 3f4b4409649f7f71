package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"berth.dev/berth/reconciler/daemon"
	"berth.dev/berth/reconciler/notify"
)

// operateFlags are the daemon's flags of operating a fleet: auto-revert
// and notifications. It returns the --notify-url-file values, read by
// readNotifyFiles once the flags are parsed.
func operateFlags(fs *flag.FlagSet, c *daemon.Config) *[]string {
	var files []string
	c.AutoRevert = true
	fs.BoolVar(&c.AutoRevert, "auto-revert", true, "when the head fails on any node (a rollout past its progress deadline, a crash loop, a failed Job of a wave), every node goes back to the last revision healthy on all of them; the branch is not touched and the failed revision is not tried again until a new commit or berth retry")
	fs.Func("notify-url", "POST the daemon's events (revision applied, refused, failed, reverted; suspended, resumed, pinned; drift repaired) as JSON to this webhook (repeatable; Slack-compatible). The URL may hold a credential: prefer --notify-url-file", func(v string) error {
		// Checked after parsing: the flag package's error would print it.
		c.NotifyURLs = append(c.NotifyURLs, v)
		return nil
	})
	fs.Func("notify-url-file", "read --notify-url values from this file, one per line (repeatable): kept out of the process list", func(v string) error {
		files = append(files, v)
		return nil
	})
	return &files
}

// readNotifyFiles checks the --notify-url values and adds the URLs of
// the --notify-url-file files.
func readNotifyFiles(c *daemon.Config, files []string) error {
	for _, u := range c.NotifyURLs {
		if err := notify.CheckURL(u); err != nil {
			return err
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("--notify-url-file: %w", err)
		}
		for i, l := range strings.Split(string(b), "\n") {
			l = strings.TrimSpace(l)
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			if err := notify.CheckURL(l); err != nil {
				return fmt.Errorf("%s:%d: %w", f, i+1, err)
			}
			c.NotifyURLs = append(c.NotifyURLs, l)
		}
	}
	return nil
}
