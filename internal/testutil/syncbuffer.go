// Package testutil holds small helpers shared by the project's tests.
package testutil

import (
	"bufio"
	"bytes"
	"encoding/json"
	"sync"
)

// SyncBuffer is an io.Writer safe for concurrent use, for capturing logs that goroutines
// and servers write while a test reads them.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// JSONLines splits what was written into lines: the JSON objects, and the other lines
// (an emulator's own text, or a line that should have been JSON).
func (s *SyncBuffer) JSONLines() (objects []map[string]any, others []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc := bufio.NewScanner(bytes.NewReader(s.b.Bytes()))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m != nil {
			objects = append(objects, m)
		} else {
			others = append(others, sc.Text())
		}
	}
	return objects, others
}
