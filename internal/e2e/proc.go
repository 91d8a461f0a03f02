// Package e2e drives a real `yuqing serve` process from outside, as users
// and scripts do: it builds or finds the binary, starts it on a data folder,
// waits until it is ready, kills it, reads its memory, and polls the HTTP API.
// The crash test and the replay benchmark use it.
package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Build compiles cmd/yuqing into dir and returns the binary's path.
func Build(dir string) (string, error) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	bin := filepath.Join(dir, "yuqing")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/yuqing")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// FreeAddr gives a free loopback address.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Proc is a running `yuqing serve`.
type Proc struct {
	Cmd  *exec.Cmd
	URL  string
	Log  string
	done chan error
}

// Start runs `bin serve --data data --listen addr` with its output in logPath
// and waits until /readyz answers 200.
func Start(bin, data, addr, logPath string, extra ...string) (*Proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--data", data, "--listen", addr}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	p := &Proc{Cmd: cmd, URL: "http://" + addr, Log: logPath, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); logf.Close() }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			return nil, fmt.Errorf("yuqing serve exited early (%v); log: %s", err, tail(logPath))
		default:
		}
		if res, err := http.Get(p.URL + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return p, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.Kill()
	return nil, fmt.Errorf("yuqing serve not ready after 60s; log: %s", tail(logPath))
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Proc) Kill() {
	_ = p.Cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM and waits up to 30 s for a clean exit.
func (p *Proc) Stop() error {
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		return err
	case <-time.After(30 * time.Second):
		p.Kill()
		return errors.New("did not stop within 30s; killed")
	}
}

// RSS gives the process's resident and peak resident memory in bytes (Linux).
func (p *Proc) RSS() (rss, peak int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb << 10
		case "VmHWM:":
			peak = kb << 10
		}
	}
	return rss, peak, nil
}

// GetJSON fetches url into v and returns the status code.
func GetJSON(ctx context.Context, url string, v any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode == 200 && v != nil {
		return 200, json.NewDecoder(res.Body).Decode(v)
	}
	if res.StatusCode >= 500 {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 2000))
		return res.StatusCode, fmt.Errorf("%s answered %d: %s", url, res.StatusCode, body)
	}
	return res.StatusCode, nil
}

// SearchTotal is the number of posts matching everything.
func SearchTotal(ctx context.Context, base string) (int64, error) {
	var r struct {
		Total int64 `json:"total"`
	}
	code, err := GetJSON(ctx, base+"/api/v1/search?size=0", &r)
	if err == nil && code != 200 {
		err = fmt.Errorf("search answered %d", code)
	}
	return r.Total, err
}

// WaitTotal polls until the index holds want posts (or more), or the
// total stops moving for stall; it returns the last total seen.
func WaitTotal(ctx context.Context, base string, want int64, stall time.Duration) (int64, error) {
	var last int64 = -1
	lastChange := time.Now()
	for {
		n, err := SearchTotal(ctx, base)
		if err != nil {
			return n, err
		}
		if n >= want {
			return n, nil
		}
		if n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) > stall {
			return n, fmt.Errorf("index stuck at %d of %d posts for %s", n, want, stall)
		}
		select {
		case <-ctx.Done():
			return n, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}
