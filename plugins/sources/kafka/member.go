package kafka

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// newRun is a fresh id for one run of a sluice process.
func newRun() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// clientID is the consumer's client id: sluice/<node>/<run> with a Node,
// plain "sluice" without.
func (c *Config) clientID() string {
	if c.Node == "" {
		return "sluice"
	}
	return c.nodePrefix() + c.run
}

func (c *Config) nodePrefix() string { return "sluice/" + c.Node + "/" }

// groupMembers are the client ids of cfg.Group's members, sorted.
func groupMembers(ctx context.Context, cfg *Config) ([]string, error) {
	members, err := describeGroup(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return clientIDs(members), nil
}

// describeGroup is cfg.Group's members as the group coordinator lists them.
func describeGroup(ctx context.Context, cfg *Config) ([]kafkago.DescribeGroupsResponseMember, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cl := &kafkago.Client{Addr: kafkago.TCP(cfg.Brokers...)}
	res, err := cl.DescribeGroups(ctx, &kafkago.DescribeGroupsRequest{GroupIDs: []string{cfg.Group}})
	if err != nil {
		return nil, fmt.Errorf("kafka describe group %q: %w", cfg.Group, err)
	}
	var members []kafkago.DescribeGroupsResponseMember
	for _, g := range res.Groups {
		if g.Error != nil {
			return nil, fmt.Errorf("kafka describe group %q: %w", cfg.Group, g.Error)
		}
		members = append(members, g.Members...)
	}
	return members, nil
}

// clientIDs are the members' client ids, sorted.
func clientIDs(members []kafkago.DescribeGroupsResponseMember) []string {
	ids := []string{}
	for _, m := range members {
		ids = append(ids, m.ClientID)
	}
	slices.Sort(ids)
	return ids
}

// sharedGroupWarning is the warning for a checkpointed source whose group
// has members that are not this process, or "". A rebalance hands over
// only the state of @ClusterAffinity statements: the others compute
// partial results per process.
func sharedGroupWarning(cfg *Config, members []string) string {
	if cfg.CommitInterval >= 0 || cfg.Node == "" {
		return ""
	}
	var others []string
	for _, id := range members {
		if id != cfg.clientID() && !slices.Contains(others, id) {
			others = append(others, id)
		}
	}
	if len(others) == 0 {
		return ""
	}
	return fmt.Sprintf("consumer group %q is shared with %s: only @ClusterAffinity statements hand their state over when partitions move; the results of others are exact only with one sluice process per group",
		cfg.Group, strings.Join(others, ", "))
}

// leaveStale removes from the group the members whose client id names this
// node but another run: what a crashed earlier run of this process left.
// Without it, a restart waits a session timeout before the group
// rebalances, and the group refuses the resume commit meanwhile. It
// returns the client ids of the members that stay, sorted.
func leaveStale(cfg *Config, log *slog.Logger) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	members, err := describeGroup(ctx, cfg)
	if err != nil {
		return nil, err
	}
	var stale []kafkago.LeaveGroupRequestMember
	var stay []kafkago.DescribeGroupsResponseMember
	for _, m := range members {
		if strings.HasPrefix(m.ClientID, cfg.nodePrefix()) && m.ClientID != cfg.clientID() {
			stale = append(stale, kafkago.LeaveGroupRequestMember{ID: m.MemberID})
		} else {
			stay = append(stay, m)
		}
	}
	if len(stale) == 0 {
		return clientIDs(stay), nil
	}
	cl := &kafkago.Client{Addr: kafkago.TCP(cfg.Brokers...)}
	lr, err := cl.LeaveGroup(ctx, &kafkago.LeaveGroupRequest{GroupID: cfg.Group, Members: stale})
	if err == nil {
		err = lr.Error
	}
	if err != nil {
		return nil, fmt.Errorf("kafka remove %d stale members from group %q: %w", len(stale), cfg.Group, err)
	}
	for _, m := range lr.Members {
		// Another stream of this process sharing the group may have removed it first.
		if m.Error != nil && !errors.Is(m.Error, kafkago.UnknownMemberId) {
			return nil, fmt.Errorf("kafka remove stale member %s from group %q: %w", m.ID, cfg.Group, m.Error)
		}
	}
	log.Info("kafka: removed members an earlier run of this node left in the group", "members", len(stale))
	return clientIDs(stay), nil
}

// dialer carries the client id every connection of the source uses.
func (c *Config) dialer() *kafkago.Dialer {
	return &kafkago.Dialer{ClientID: c.clientID(), Timeout: 10 * time.Second, DualStack: true}
}
