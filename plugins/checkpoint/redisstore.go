package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// RedisStore keeps a node's checkpoints under sluice:checkpoint:<node> and
// sluice:checkpoint:<node>:previous, and partition records, shared by the
// nodes of a consumer group, as hashes (offset, doc) under
// sluice:partition:<key>. Documents are only as durable as the
// Redis server keeps them: run it with appendonly (AOF) for crash safety.
type RedisStore struct {
	client *goredis.Client
	key    string
}

// saveScript moves the latest document to the previous key and writes the
// new one, as one atomic step.
var saveScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('RENAME', KEYS[1], KEYS[2]) end
redis.call('SET', KEYS[1], ARGV[1])
return 1`)

// savePartitionScript writes a partition record unless the stored one is
// at a later offset.
var savePartitionScript = goredis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'offset')
if cur and tonumber(cur) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'offset', ARGV[1], 'doc', ARGV[2])
return 1`)

// NewRedisStore connects lazily to url (redis://… or host:port).
func NewRedisStore(url, node string) (*RedisStore, error) {
	opt := &goredis.Options{Addr: url}
	if strings.Contains(url, "://") {
		var err error
		if opt, err = goredis.ParseURL(url); err != nil {
			return nil, fmt.Errorf("--state-redis-url %q: %w", url, err)
		}
	}
	return &RedisStore{client: goredis.NewClient(opt), key: "sluice:checkpoint:" + node}, nil
}

func (s *RedisStore) Save(ctx context.Context, doc []byte) error {
	if err := saveScript.Run(ctx, s.client, []string{s.key, s.key + ":previous"}, doc).Err(); err != nil {
		return fmt.Errorf("redis save checkpoint %q: %w", s.key, err)
	}
	return nil
}

func (s *RedisStore) Load(ctx context.Context) (latest, previous []byte, err error) {
	vals, err := s.client.MGet(ctx, s.key, s.key+":previous").Result()
	if err != nil {
		return nil, nil, fmt.Errorf("redis load checkpoint %q: %w", s.key, err)
	}
	out := make([][]byte, 2)
	for i, v := range vals {
		switch v := v.(type) {
		case nil:
		case string:
			out[i] = []byte(v)
		default:
			return nil, nil, errors.New("redis load checkpoint: unexpected reply type")
		}
	}
	return out[0], out[1], nil
}

func (s *RedisStore) SavePartition(ctx context.Context, key string, offset int64, doc []byte) error {
	k := "sluice:partition:" + key
	if err := savePartitionScript.Run(ctx, s.client, []string{k}, offset, doc).Err(); err != nil {
		return fmt.Errorf("redis save partition record %q: %w", k, err)
	}
	return nil
}

func (s *RedisStore) LoadPartitions(ctx context.Context, keys []string) ([][]byte, error) {
	pipe := s.client.Pipeline()
	cmds := make([]*goredis.StringCmd, len(keys))
	for i, key := range keys {
		cmds[i] = pipe.HGet(ctx, "sluice:partition:"+key, "doc")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("redis load partition records %v: %w", keys, err)
	}
	out := make([][]byte, len(keys))
	for i, c := range cmds {
		b, err := c.Bytes()
		if errors.Is(err, goredis.Nil) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("redis load partition record %q: %w", keys[i], err)
		}
		out[i] = b
	}
	return out, nil
}

func (s *RedisStore) String() string {
	return fmt.Sprintf("redis %s key %s", s.client.Options().Addr, s.key)
}

// Close closes the connections.
func (s *RedisStore) Close() error { return s.client.Close() }
