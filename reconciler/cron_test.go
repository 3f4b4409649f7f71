package reconciler

import (
	"strconv"
	"strings"
	"testing"
	"time"

	_ "time/tzdata" // the time zone test must not depend on the host's zoneinfo

	"berth.dev/berth/compiler/plan"
)

func cronPlan(c plan.CronJob) *plan.Plan {
	tmpl := mkPod("CronJob", "tick", "abcdef", 0)
	tmpl.Spec.RestartPolicy = "Never"
	if c.Job.Completions == 0 {
		c.Job.Completions, c.Job.Parallelism = 1, 1
	}
	w := plan.Workload{Kind: "CronJob", Namespace: "default", Name: "tick", Revision: "abcdef", CronJob: &c, Template: &tmpl, Node: "n1"}
	return &plan.Plan{Revision: "r1", Nodes: []plan.NodePlan{{Node: plan.Node{Name: "n1"}}}, Workloads: []plan.Workload{w}}
}

func (e *env) at(hhmmss string) {
	t, err := time.Parse("15:04:05", hhmmss)
	if err != nil {
		panic(err)
	}
	e.clock.Set(time.Date(2026, 11, 25, t.Hour(), t.Minute(), t.Second(), 0, time.UTC))
}

// run is the pod name of the run scheduled at hh:mm (UTC, today).
func run(hhmm string) string {
	t, _ := time.Parse("15:04", hhmm)
	at := time.Date(2026, 11, 25, t.Hour(), t.Minute(), 0, 0, time.UTC)
	return "tick-" + strconv.FormatInt(at.Unix()/60, 10) + "-abcde-0"
}

func TestCronJobForbid(t *testing.T) {
	e := newEnv(t)
	dl := int64(20)
	p := cronPlan(plan.CronJob{Schedule: "* * * * *", ConcurrencyPolicy: "Forbid", StartingDeadlineSeconds: &dl, SuccessfulJobsHistoryLimit: 3, FailedJobsHistoryLimit: 1})
	e.pass(p) // 12:00:30: first seen, nothing due
	e.want("tick-")
	e.at("12:01:00")
	e.pass(p)
	e.want("tick-", run("12:01"))
	e.at("12:02:00") // still running: Forbid skips
	e.pass(p)
	e.want("tick-", run("12:01"))
	e.at("12:02:30")
	e.rt.Exit("default/"+run("12:01"), 0)
	e.pass(p) // 12:02 is 30s late, past the 20s deadline: not started
	e.want("tick-", run("12:01"))
	e.at("12:03:00")
	e.pass(p)
	e.want("tick-", run("12:01"), run("12:03"))
	st := e.rec.Status()
	if w := st.Workloads[0]; !w.NextRun.Equal(time.Date(2026, 11, 25, 12, 4, 0, 0, time.UTC)) || w.ActiveRuns != 1 {
		t.Fatalf("status = %+v", w)
	}
}

func TestCronJobReplace(t *testing.T) {
	e := newEnv(t)
	p := cronPlan(plan.CronJob{Schedule: "* * * * *", ConcurrencyPolicy: "Replace", SuccessfulJobsHistoryLimit: 3, FailedJobsHistoryLimit: 1})
	e.pass(p)
	e.at("12:01:00")
	e.pass(p)
	e.at("12:02:00")
	e.pass(p)
	e.want("tick-", run("12:02"))
}

func TestCronJobAllowAndHistory(t *testing.T) {
	e := newEnv(t)
	p := cronPlan(plan.CronJob{Schedule: "* * * * *", ConcurrencyPolicy: "Allow", SuccessfulJobsHistoryLimit: 1, FailedJobsHistoryLimit: 1})
	e.pass(p)
	e.at("12:01:00")
	e.pass(p)
	e.at("12:02:00")
	e.pass(p)
	e.want("tick-", run("12:01"), run("12:02")) // Allow: both run
	e.rt.Exit("default/"+run("12:01"), 0)
	e.rt.Exit("default/"+run("12:02"), 0)
	e.at("12:02:10")
	e.pass(p)
	e.want("tick-", run("12:02")) // one successful run kept
}

func TestCronJobMissedRunDeadline(t *testing.T) {
	e := newEnv(t)
	dl := int64(600)
	p := cronPlan(plan.CronJob{Schedule: "@hourly", ConcurrencyPolicy: "Allow", StartingDeadlineSeconds: &dl, SuccessfulJobsHistoryLimit: 3})
	e.pass(p)
	// Down from 12:00:30 to 14:05: only the most recent missed run (14:00) starts.
	e.at("14:05:00")
	e.pass(p)
	e.want("tick-", run("14:00"))
	e.rt.Exit("default/"+run("14:00"), 0)
	// Down again past 15:00 by more than the deadline: skipped.
	e.at("15:20:00")
	e.pass(p)
	e.want("tick-", run("14:00"))
	e.at("16:00:00")
	e.pass(p)
	e.want("tick-", run("14:00"), run("16:00"))
}

func TestCronJobSuspendAndTimeZone(t *testing.T) {
	e := newEnv(t)
	p := cronPlan(plan.CronJob{Schedule: "0 9 * * *", TimeZone: "America/New_York", ConcurrencyPolicy: "Allow", Suspend: true})
	e.at("13:59:00")
	e.pass(p)
	e.at("14:01:00")
	e.pass(p)
	e.want("tick-")
	p.Workloads[0].CronJob.Suspend = false
	e.pass(p)
	// 09:00 in New York is 14:00 UTC in November; missed by a minute, no deadline: it runs.
	e.want("tick-", run("14:00"))
	st := e.rec.Status()
	if w := st.Workloads[0]; !w.NextRun.Equal(time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)) {
		t.Fatalf("next run %v, want tomorrow 14:00 UTC", w.NextRun)
	}
}

func TestParseSchedule(t *testing.T) {
	for _, tc := range []struct{ spec, tz, err string }{
		{"*/5 * * * *", "", ""},
		{"@daily", "Europe/Paris", ""},
		{"61 * * * *", "", "schedule"},
		{"* * * * *", "Mars/Olympus", "timeZone"},
	} {
		_, err := ParseSchedule(tc.spec, tc.tz)
		if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ParseSchedule(%q, %q) = %v, want error containing %q", tc.spec, tc.tz, err, tc.err)
		}
	}
}

// FuzzParseSchedule: any schedule and zone either parses or errs; a parsed
// schedule's next run is in the future.
func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"* * * * *", "@hourly", "0 9 * * 1-5", "*/15 2,3 1 1 *", "@every 1h", "CRON_TZ=UTC 0 0 * * *", "0 0 31 2 *"} {
		f.Add(s, "")
		f.Add(s, "Europe/Paris")
	}
	f.Fuzz(func(t *testing.T, spec, tz string) {
		s, err := ParseSchedule(spec, tz)
		if err != nil {
			return
		}
		if next := s.Next(t0); !next.IsZero() && !next.After(t0) {
			t.Fatalf("%q in %q: next %v is not after %v", spec, tz, next, t0)
		}
	})
}
