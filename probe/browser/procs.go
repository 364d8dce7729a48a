package browser

import (
	"bytes"
	"os"
	"strconv"
)

// GroupPIDs lists the live (non-zombie) processes of process group pgid,
// read from /proc. Tests and Close use it to prove no Chrome outlives us.
func GroupPIDs(pgid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		state, pgrp, ok := procStat(pid)
		if ok && pgrp == pgid && state != 'Z' && state != 'X' {
			out = append(out, pid)
		}
	}
	return out
}

// procStat reads the state and process group of pid from /proc/PID/stat.
func procStat(pid int) (state byte, pgrp int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// The command name is in parentheses and may contain spaces; the
	// fields after the last ')' are: state ppid pgrp ...
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 3 || len(f[0]) != 1 {
		return 0, 0, false
	}
	g, err := strconv.Atoi(string(f[2]))
	if err != nil {
		return 0, 0, false
	}
	return f[0][0], g, true
}

// GroupRSS sums the resident set size in bytes of process group pgid.
// Shared pages are counted once per process, so this overstates real use
// somewhat; it is the figure `ps` users and OOM killers reason with.
func GroupRSS(pgid int) int64 {
	var total int64
	page := int64(os.Getpagesize())
	for _, pid := range GroupPIDs(pgid) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
		if err != nil {
			continue
		}
		f := bytes.Fields(b)
		if len(f) < 2 {
			continue
		}
		n, err := strconv.ParseInt(string(f[1]), 10, 64)
		if err == nil {
			total += n * page
		}
	}
	return total
}

// GroupPSS sums the proportional set size in bytes of process group pgid:
// shared pages are split between the processes that map them, so unlike
// GroupRSS the sum is the memory the group really holds.
func GroupPSS(pgid int) int64 {
	var total int64
	for _, pid := range GroupPIDs(pgid) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
		if err != nil {
			continue
		}
		for _, line := range bytes.Split(b, []byte{'\n'}) {
			if rest, ok := bytes.CutPrefix(line, []byte("Pss:")); ok {
				f := bytes.Fields(rest)
				if len(f) > 0 {
					if kb, err := strconv.ParseInt(string(f[0]), 10, 64); err == nil {
						total += kb << 10
					}
				}
				break
			}
		}
	}
	return total
}
