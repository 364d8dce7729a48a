package probe

import "time"

// What a store keeps beside runs, and how its runs are selected. These are
// the vocabulary storage/sqlite implements and its readers (the report, the
// InfluxDB shipper, alerting) consume, so that none of them imports another.

// RunQuery selects stored runs by scheduled time (Since inclusive, Until
// exclusive; zero means unbounded) and, when Check is set, by check name.
type RunQuery struct {
	Since, Until time.Time
	Check        string
}

// RunCursor is a position in the (scheduled time, store id) order in which
// stored runs are read page by page. The zero cursor is before the first run.
type RunCursor struct {
	ScheduledAtNanos int64
	ID               int64
}

// CursorAfter is the cursor just past run (a run read from a store).
func CursorAfter(run Run) RunCursor {
	return RunCursor{ScheduledAtNanos: run.ScheduledAt.UnixNano(), ID: run.ID}
}

// Skip is a scheduled run that did not happen, and why (the previous run of
// the check was still going, the concurrency limit was full ...).
type Skip struct {
	Check       string
	ScheduledAt time.Time
	Reason      string
}

// OutboxEntry is one run queued for delivery to InfluxDB; Seq orders the
// queue and acknowledges the entry.
type OutboxEntry struct {
	Seq int64
	Run Run
}

// OutboxStats describe the outbox for /metrics, logs and the report.
type OutboxStats struct {
	Depth    int64     // entries waiting
	Oldest   time.Time // enqueue time of the oldest waiting entry; zero when empty
	Rejected int64     // points rejected, ever
	Dropped  int64     // entries dropped by the size/age cap, ever
}

// RejectedPoint is a line-protocol point InfluxDB refused, kept with the
// reason so it can be inspected and fixed instead of silently lost.
type RejectedPoint struct {
	ID         int64
	Seq        int64 // outbox entry it came from
	RunID      int64 // 0 if the run was gone when rejected
	Check      string
	Line       string
	Reason     string
	RejectedAt time.Time
}
