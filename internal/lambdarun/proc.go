package lambdarun

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// The emulator starts the runtime in a process group of its own, so killing the emulator's
// group would leave the function behind. Each emulator is therefore started as the leader
// of a new session, and Close kills every process of that session (found in /proc).

// SessionProcesses lists the live (not zombie) processes whose session id is sid.
func SessionProcesses(sid int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		state, session, ok := parseStat(b)
		if ok && session == sid && state != 'Z' && state != 'X' {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// parseStat reads the state and session id from /proc/<pid>/stat:
// "pid (comm) state ppid pgrp session ...". comm may contain spaces and parentheses.
func parseStat(b []byte) (state byte, session int, ok bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0, 0, false
	}
	fields := bytes.Fields(b[i+2:])
	if len(fields) < 4 {
		return 0, 0, false
	}
	session, err := strconv.Atoi(string(fields[3]))
	if err != nil {
		return 0, 0, false
	}
	return fields[0][0], session, true
}

// killSession SIGKILLs every process in session sid until none is left alive, bounded in
// rounds and time.
func killSession(sid int, timeout time.Duration) error {
	const maxRounds = 200
	deadline := time.Now().Add(timeout)
	for range maxRounds {
		pids, err := SessionProcesses(sid)
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		for _, pid := range pids {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				return fmt.Errorf("kill %d: %w", pid, err)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v of session %d still alive after %s", pids, sid, timeout)
		}
		time.Sleep(timeout / maxRounds)
	}
	pids, _ := SessionProcesses(sid)
	if len(pids) > 0 {
		return fmt.Errorf("processes %v of session %d still alive", pids, sid)
	}
	return nil
}
