package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"yuqing/crawler"
	"yuqing/crawler/demosite"
	"yuqing/domain"
	"yuqing/ingest/client"
)

// crawlCmd runs sources outside `yuqing serve`: once, printing what it
// found (and sending it with --server), or on their schedule, sending to a
// yuqing server through POST /api/v1/posts.
func crawlCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("crawl", flag.ContinueOnError)
	sources := fs.String("sources", "deploy/sources.yaml", "信息源配置文件")
	name := fs.String("source", "", "只运行这个信息源（默认全部）")
	once := fs.Bool("once", false, "运行一次并打印找到的内容（每行一条 JSON）")
	srv := fs.String("server", "", "把找到的内容发送到这个 yuqing 服务（如 http://127.0.0.1:8080）")
	state := fs.String("state", "data/crawler-cli.db", "抓取状态文件（记录已抓取的网址），仅在发送时使用")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	file, err := crawler.LoadSources(*sources)
	if err != nil {
		return err
	}
	if *name != "" {
		src, ok := file.Find(*name)
		if !ok {
			return fmt.Errorf("信息源 %q 不在 %s 中", *name, *sources)
		}
		file.Sources = []crawler.Source{*src}
	}
	statePath := *state
	if *srv == "" {
		if !*once {
			return errors.New("持续采集需要 --server（或在 yuqing serve 的配置中设置 crawler.sources）；只想看看结果请加 --once")
		}
		// a dry run: print, send nothing, remember nothing
		dir, err := os.MkdirTemp("", "yuqing-crawl-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		statePath = filepath.Join(dir, "crawler.db")
	}
	st, err := crawler.OpenState(statePath)
	if err != nil {
		return err
	}
	defer st.Close()
	var sink crawler.Sink = crawler.SinkFunc(func(context.Context, []domain.Post) error { return nil })
	if *srv != "" {
		c := client.New(*srv)
		sink = crawler.SinkFunc(func(ctx context.Context, posts []domain.Post) error {
			resp, err := c.Send(ctx, posts)
			if err != nil {
				return err
			}
			printRejected(posts, resp, time.Time{})
			return nil
		})
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cr := &crawler.Crawler{State: st, Sink: sink, Log: log}
	if !*once {
		sched := &crawler.Scheduler{Path: *sources, Crawler: cr, Log: log, Only: *name}
		return sched.Run(ctx)
	}
	fetcher, err := crawler.NewFetcherFor(file)
	if err != nil {
		return err
	}
	cr.Fetcher = fetcher
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	failed := 0
	for i := range file.Sources {
		src := &file.Sources[i]
		if src.Disabled && *name == "" {
			continue
		}
		fmt.Fprintf(os.Stderr, "抓取 %s（%s）…\n", src.Name, src.Type)
		res := cr.RunOnce(ctx, src)
		for _, p := range res.Posts {
			if err := enc.Encode(p); err != nil {
				return err
			}
		}
		for _, e := range res.Errors {
			fmt.Fprintln(os.Stderr, "  问题:", e)
		}
		fmt.Fprintf(os.Stderr, "%s: 页面 %d（未变 %d），列出 %d，新内容 %d，已抓过 %d，转载 %d，问题 %d，用时 %s\n",
			src.Name, res.Pages, res.NotModified, res.Found, res.New, res.Seen, res.Syndicated, len(res.Errors), res.Duration.Round(time.Millisecond))
		if res.Failed {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d 个信息源抓取失败", failed)
	}
	return nil
}

// demoSite serves the embedded local demo news site (news list, GBK
// pages, RSS, Atom, sitemap, a JSON API and a government portal), so the
// crawler can be tried with no internet.
func demoSite(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo-site", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8090", "监听地址")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	srv := &http.Server{Addr: *listen, Handler: demosite.Handler(time.Now), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	fmt.Fprintf(os.Stderr, "本地演示站: http://%s/（新闻 /news/、GBK /gbk/、RSS /rss.xml、站点地图 /sitemap.xml、接口 /api/posts、政府门户 /gov/）\n", *listen)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
