// Package crawler will fetch news sites, government portals, feeds and social
// APIs politely and incrementally, in any encoding, and hand what it finds to
// ingest (issue 4). Until then posts arrive through POST /api/v1/posts,
// `yuqing ingest` and `yuqing replay`.
package crawler
