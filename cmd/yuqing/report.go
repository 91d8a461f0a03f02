package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// reportCmd fetches the period report (GET /report) from a running server
// and writes it to a file or standard output: for a weekly job that files
// the report, or mails it on an intranet.
func reportCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	srv := fs.String("server", "http://127.0.0.1:8080", "yuqing 服务地址")
	from := fs.String("from", "", "起始时间（RFC 3339 或 2006-01-02；默认结束前 7 天）")
	to := fs.String("to", "", "结束时间（默认现在）")
	days := fs.Int("days", 0, "统计结束前的天数（不给 --from 时；默认 7，月报用 30）")
	out := fs.String("out", "", "写入的文件（默认标准输出）")
	format := fs.String("format", "html", "html（可打印的报告页）或 json")
	if rest, err := parse(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return fmt.Errorf("多余的参数 %q", rest)
	}
	target := strings.TrimRight(*srv, "/")
	switch *format {
	case "html":
		target += "/report"
	case "json":
		target += "/api/v1/reports/summary"
	default:
		return fmt.Errorf("--format 应为 html 或 json，而不是 %q", *format)
	}
	q := url.Values{}
	if *from != "" {
		q.Set("from", *from)
	}
	if *to != "" {
		q.Set("to", *to)
	}
	if *days != 0 {
		q.Set("days", strconv.Itoa(*days))
	}
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("连接 %s 失败: %w", *srv, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("读取报告失败: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("服务返回 %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	if *out == "" {
		_, err = os.Stdout.Write(body)
		return err
	}
	if err := os.WriteFile(*out, body, 0o644); err != nil {
		return errors.New("写入报告失败: " + err.Error())
	}
	fmt.Fprintf(os.Stderr, "报告已写入 %s（%d 字节）\n", *out, len(body))
	return nil
}
