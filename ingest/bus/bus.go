// Package bus is the Bus port: the durable, partitioned message log that carries
// posts from ingest to the analyzer and events from the analyzer to alerting.
//
// Delivery is at least once. A consumer group has its own committed offsets;
// a message is delivered again to the group until it is acknowledged, so a
// consumer acknowledges only after its own durable write. Backends live in
// packages beside this one (sqlitebus for the embedded default); every backend
// must pass the conformance suite in bustest.
package bus

import (
	"context"
	"errors"
	"time"
)

// Topics used by yuqing.
const (
	TopicPosts  = "posts"
	TopicEvents = "events"
	// TopicCases carries case changes to dashboard processes when the roles
	// run in separate processes.
	TopicCases = "cases"
	// TopicSources carries crawler source health changes to dashboard
	// processes when the crawler runs in its own process.
	TopicSources = "sources"
)

// ErrClosed is returned by operations on a closed bus or subscription.
var ErrClosed = errors.New("bus: closed")

// Message is one entry of a topic. Key decides the partition: messages with the
// same key keep their order. Partition and Offset are set by the bus.
type Message struct {
	Topic     string
	Key       string
	Value     []byte
	Partition int
	Offset    int64
	Time      time.Time
}

// Bus is the port. Publish returns nil only once every message is durable.
type Bus interface {
	Publish(ctx context.Context, topic string, msgs ...Message) error
	// Subscribe joins a consumer group on a topic. Messages not yet
	// acknowledged by the group are delivered, oldest first within a partition.
	Subscribe(ctx context.Context, topic, group string) (Subscription, error)
	Close() error
}

// Subscription is one consumer's view of a consumer group.
type Subscription interface {
	// Fetch blocks until at least one message is available (or ctx ends) and
	// returns up to max messages, in order within each partition.
	Fetch(ctx context.Context, max int) ([]Message, error)
	// Ack commits the group's offset past each given message's partition and
	// offset: acknowledging a message acknowledges every earlier one of its
	// partition. It returns nil only once the commit is durable.
	Ack(ctx context.Context, msgs ...Message) error
	// Lag is how many messages of the topic the group has not acknowledged.
	Lag(ctx context.Context) (int64, error)
	Close() error
}

// GroupLagger is implemented by backends that can tell, from outside a
// consumer group, how many messages of a topic it has not acknowledged.
// Ingest uses it to slow senders down when analyzers running in other
// processes fall behind.
type GroupLagger interface {
	GroupLag(ctx context.Context, topic, group string) (int64, error)
}
