package crawler

import (
	"context"
	"encoding/json"
	"fmt"

	"yuqing/domain"
	"yuqing/ingest"
	"yuqing/ingest/bus"
)

// BusSink publishes posts on the Bus exactly as POST /api/v1/posts does
// (same topic, same partition key), so everything downstream is shared.
// Publish returns once the posts are durable.
type BusSink struct{ Bus bus.Bus }

// Emit publishes posts to the posts topic.
func (s BusSink) Emit(ctx context.Context, posts []domain.Post) error {
	msgs := make([]bus.Message, len(posts))
	for i := range posts {
		v, err := json.Marshal(&posts[i])
		if err != nil {
			return fmt.Errorf("编码帖子 %s: %w", posts[i].ID, err)
		}
		msgs[i] = bus.Message{Key: ingest.PartitionKey(&posts[i]), Value: v}
	}
	return s.Bus.Publish(ctx, bus.TopicPosts, msgs...)
}
