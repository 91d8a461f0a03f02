package sqlitebus

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"yuqing/ingest/bus"
)

// crashChildEnv, when set to a database path, turns the test binary into the
// child of TestCrashKeepsAcknowledged: it publishes until killed.
const crashChildEnv = "SQLITEBUS_CRASH_CHILD"

// crashChild publishes from several goroutines and prints, after each Publish
// returned nil, one line per message: "ok <partition> <offset> <value>".
func crashChild() {
	path := os.Getenv(crashChildEnv)
	b, err := Open(path, WithLogger(quietLogger()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	stop := time.Now().Add(60 * time.Second) // the parent kills us long before
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; time.Now().Before(stop); {
				n := 1 + i%10
				batch := make([]bus.Message, n)
				for j := range batch {
					batch[j] = bus.Message{
						Key:   fmt.Sprintf("w%d-k%d", w, (i+j)%5),
						Value: fmt.Appendf(nil, "w%d-%d", w, i+j),
					}
				}
				if err := b.Publish(context.Background(), bus.TopicPosts, batch...); err != nil {
					fmt.Fprintln(os.Stderr, "child publish:", err)
					os.Exit(3)
				}
				var sb strings.Builder
				for _, m := range batch {
					fmt.Fprintf(&sb, "ok %d %d %s\n", m.Partition, m.Offset, m.Value)
				}
				mu.Lock()
				os.Stdout.WriteString(sb.String())
				mu.Unlock()
				i += n
			}
		})
	}
	wg.Wait()
	b.Close()
	os.Exit(0)
}

type printed struct {
	part int
	off  int64
}

// TestCrashKeepsAcknowledged kills a publishing child process with SIGKILL
// and checks that every message whose Publish had returned is in the log,
// at the offset reported, exactly once.
func TestCrashKeepsAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	for round := range 2 {
		t.Run("round"+strconv.Itoa(round), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "crash.db")
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			want := map[string]printed{}
			sc := bufio.NewScanner(out)
			killAt := 3000 + round*4000
			killed := false
			timer := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
			defer timer.Stop()
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) != 4 || f[0] != "ok" {
					continue // a line cut by the kill
				}
				p, err1 := strconv.Atoi(f[1])
				o, err2 := strconv.ParseInt(f[2], 10, 64)
				if err1 != nil || err2 != nil {
					continue
				}
				if _, dup := want[f[3]]; dup {
					t.Fatalf("child printed %s twice", f[3])
				}
				want[f[3]] = printed{p, o}
				if !killed && len(want) >= killAt {
					if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
						t.Fatal(err)
					}
					killed = true
				}
			}
			err = cmd.Wait()
			if !killed {
				t.Fatalf("child ended before the kill after %d messages: %v; stderr: %s", len(want), err, stderr.String())
			}
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
				t.Fatalf("child was not killed by the signal: %v; stderr: %s", err, stderr.String())
			}

			b := openT(t, path)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s, err := b.Subscribe(ctx, bus.TopicPosts, "crash-check")
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			total, err := s.Lag(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if total < int64(len(want)) {
				t.Fatalf("log holds %d messages, fewer than the %d acknowledged", total, len(want))
			}
			got := map[string]printed{}
			for int64(len(got)) < total {
				msgs, err := s.Fetch(ctx, 1000)
				if err != nil {
					t.Fatalf("fetch after %d of %d: %v", len(got), total, err)
				}
				for _, m := range msgs {
					if _, dup := got[string(m.Value)]; dup {
						t.Fatalf("message %s stored twice", m.Value)
					}
					got[string(m.Value)] = printed{m.Partition, m.Offset}
				}
			}
			for v, w := range want {
				g, ok := got[v]
				if !ok {
					t.Fatalf("acknowledged message %s (partition %d offset %d) lost in the crash", v, w.part, w.off)
				}
				if g != w {
					t.Fatalf("message %s at %d/%d, but Publish reported %d/%d", v, g.part, g.off, w.part, w.off)
				}
			}
			t.Logf("killed after %d acknowledged messages; %d in the log after reopen (the rest committed but not yet printed)", len(want), total)
		})
	}
}
