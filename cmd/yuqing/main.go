// Command yuqing is the whole product in one binary: `yuqing serve` runs the
// pipeline and the dashboard; the other commands feed it, replay datasets
// into it, and train and evaluate the analyzer's models.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"yuqing/alerting/orgtree"
	"yuqing/analyzer"
	"yuqing/analyzer/classify"
	"yuqing/crawler/extract"
	"yuqing/domain"
	"yuqing/ingest/client"
	"yuqing/ingest/dataset"
	"yuqing/internal/server"
)

const usage = `yuqing —— 政务舆情监测与回应

用法:
  yuqing serve   [--config FILE] [--data DIR] [--listen ADDR] [--target all|crawler|analyzer|alerting|dashboard]
  yuqing ingest  FILE... [--server URL]            导入 JSON Lines 或 CSV 帖子
  yuqing replay  FILE [--speed N|max] [--server URL] 按帖子自身时间回放数据集
  yuqing crawl   [--sources FILE] [--source NAME] [--once] [--server URL]  采集信息源；--once 运行一次并打印结果
  yuqing demo-site [--listen ADDR]                 本地演示新闻站（供试用采集器，无需互联网）
  yuqing extract FILE.html [--url URL]            从保存的网页中抽取文章（标题、时间、作者、正文），输出 JSON
  yuqing analyze [--format text|jsonl]             从标准输入读帖子，逐行输出分析结果
  yuqing train   sentiment|category|rumor --data FILE... --out MODEL
  yuqing eval    sentiment|category|rumor --model MODEL --data FILE... [--split test|all]
  yuqing report  [--from T | --days N] [--to T] [--out FILE] [--format html|json] [--server URL]  取舆情与回应报告（默认近 7 天）
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	cmd, args := os.Args[1], os.Args[2:]
	switch cmd {
	case "serve":
		err = serve(ctx, args)
	case "ingest":
		err = ingestCmd(ctx, args)
	case "replay":
		err = replay(ctx, args)
	case "crawl":
		err = crawlCmd(ctx, args)
	case "demo-site":
		err = demoSite(ctx, args)
	case "extract":
		err = extractCmd(args)
	case "analyze":
		err = analyze(args)
	case "train":
		err = train(args)
	case "eval":
		err = evalCmd(args)
	case "report":
		err = reportCmd(ctx, args)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "未知命令 %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "错误:", err)
		os.Exit(1)
	}
}

// parse parses flags that may come before or after the positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func serve(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "YAML 配置文件")
	data := fs.String("data", "", "数据目录（默认 ./data）")
	listen := fs.String("listen", "", "监听地址（默认 127.0.0.1:8080）")
	target := fs.String("target", "", "运行的角色: all、crawler、analyzer、alerting、dashboard")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := server.LoadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if *data != "" {
		cfg.Data = *data
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	if *target != "" {
		cfg.Target = *target
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s, err := server.New(cfg, log)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

func ingestCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	srv := fs.String("server", "http://127.0.0.1:8080", "yuqing 服务地址")
	files, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return errors.New("请给出要导入的文件（JSON Lines 或 CSV）")
	}
	c := client.New(*srv)
	for _, f := range files {
		posts, err := dataset.ReadFile(f, func(e error) { fmt.Fprintln(os.Stderr, "跳过:", e) })
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "%s: %d 条\n", f, len(posts))
		st, err := c.Replay(ctx, posts, client.ReplayOptions{Progress: os.Stderr, NoSort: true, OnBatch: printRejected})
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "%s: 接收 %d 条，拒绝 %d 条，用时 %s\n", f, st.Accepted, st.Rejected, st.Wall.Round(time.Millisecond))
	}
	return nil
}

func printRejected(sent []domain.Post, resp client.Response, _ time.Time) {
	for _, e := range resp.Errors {
		id := e.ID
		if id == "" && e.Item < len(sent) {
			id = sent[e.Item].ID
		}
		fmt.Fprintf(os.Stderr, "\n拒绝 %s: %s\n", id, e.String())
	}
}

func replay(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	srv := fs.String("server", "http://127.0.0.1:8080", "yuqing 服务地址")
	speed := fs.String("speed", "max", "回放倍速 N（按帖子自身时间的 N 倍速），或 max（服务器能接收多快就多快）")
	batch := fs.Int("batch", 2000, "每批条数")
	files, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return errors.New("请给出一个数据集文件，例如 ../shared/data/weibo/ced_dev.jsonl.gz")
	}
	var sp float64
	if *speed != "max" {
		if sp, err = strconv.ParseFloat(*speed, 64); err != nil || sp <= 0 {
			return fmt.Errorf("--speed %q: 应为正数或 max", *speed)
		}
	}
	fmt.Fprintf(os.Stderr, "读取 %s …\n", files[0])
	posts, err := dataset.ReadFile(files[0], func(e error) { fmt.Fprintln(os.Stderr, "跳过:", e) })
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "共 %d 条，按时间顺序发送到 %s\n", len(posts), *srv)
	st, err := client.New(*srv).Replay(ctx, posts, client.ReplayOptions{Speed: sp, BatchSize: *batch, Progress: os.Stderr, OnBatch: printRejected})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "完成: 发送 %d 条，接收 %d 条，拒绝 %d 条，用时 %s，%.0f 条/秒\n",
		st.Sent, st.Accepted, st.Rejected, st.Wall.Round(time.Millisecond), float64(st.Sent)/st.Wall.Seconds())
	return nil
}

func extractCmd(args []string) error {
	fs := flag.NewFlagSet("extract", flag.ContinueOnError)
	pageURL := fs.String("url", "", "网页的原始地址（用于解析相对链接）")
	files, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return errors.New("用法: yuqing extract FILE.html [--url URL]")
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		return err
	}
	a, err := extract.Page(raw, *pageURL)
	if err != nil {
		return fmt.Errorf("%s: %w", files[0], err)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(a)
}

func analyze(args []string) error {
	fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
	format := fs.String("format", "", "输入格式: text（每行一段文本）或 jsonl（每行一个帖子 JSON）；默认按每行内容判断")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	tree, err := orgtree.Default()
	if err != nil {
		return err
	}
	an, err := analyzer.New(analyzer.WithRouter(server.UnitRouter(tree)))
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var p domain.Post
		isJSON := *format == "jsonl" || (*format == "" && strings.HasPrefix(line, "{"))
		if isJSON {
			if err := json.Unmarshal([]byte(line), &p); err != nil {
				fmt.Fprintf(os.Stderr, "第 %d 行不是合法的帖子 JSON: %v\n", n, err)
				continue
			}
		} else {
			p.Text = line
		}
		if err := enc.Encode(an.Analyze(&p)); err != nil {
			return err
		}
	}
	return sc.Err()
}

func train(args []string) error {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	var data multi
	fs.Var(&data, "data", "训练数据文件（可重复）")
	out := fs.String("out", "", "模型输出文件")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || len(data) == 0 || *out == "" {
		return errors.New("用法: yuqing train sentiment|category|rumor --data FILE... --out MODEL")
	}
	data = append(data, pos[1:]...)
	return classify.Train(pos[0], data, *out, os.Stderr)
}

func evalCmd(args []string) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	var data multi
	fs.Var(&data, "data", "评测数据文件（可重复）")
	model := fs.String("model", "", "模型文件")
	split := fs.String("split", "test", "评测哪一部分: test（训练时留出的 20%）或 all")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(data) == 0 || *model == "" {
		return errors.New("用法: yuqing eval sentiment|category|rumor --model MODEL --data FILE...")
	}
	data = append(data, pos[1:]...)
	return classify.EvalSplit(pos[0], *model, data, *split, os.Stdout)
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }
