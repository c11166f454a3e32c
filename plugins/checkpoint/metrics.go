package checkpoint

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	descCheckpoints = prometheus.NewDesc("sluice_checkpoints_total",
		"Checkpoints taken (result ok) and failed (result failed).", []string{"result"}, nil)
	descInProgress = prometheus.NewDesc("sluice_checkpoint_in_progress",
		"1 while a checkpoint is being taken.", nil, nil)
	descSeq = prometheus.NewDesc("sluice_checkpoint_seq",
		"Sequence number of the latest checkpoint stored or restored.", nil, nil)
	descBytes = prometheus.NewDesc("sluice_checkpoint_bytes",
		"Size of the latest checkpoint document.", nil, nil)
	descDuration = prometheus.NewDesc("sluice_checkpoint_duration_seconds",
		"How long the latest checkpoint took, Kafka commits included.", nil, nil)
	descPaused = prometheus.NewDesc("sluice_checkpoint_pause_seconds",
		"How long the latest checkpoint held the Kafka sources and ingest: drain, snapshot, sink flush, store.", nil, nil)
	descPausedTotal = prometheus.NewDesc("sluice_checkpoint_pause_seconds_total",
		"Time the Kafka sources and ingest were held by checkpoints, over every checkpoint taken.", nil, nil)
	descLastOK = prometheus.NewDesc("sluice_checkpoint_last_success_timestamp_seconds",
		"When the latest checkpoint was stored.", nil, nil)
	descCommitFailures = prometheus.NewDesc("sluice_checkpoint_commit_failures_total",
		"Kafka offset commits that failed after a checkpoint was stored (harmless: the stored positions win).", nil, nil)
	descHandOffs = prometheus.NewDesc("sluice_checkpoint_rebalance_total",
		"Checkpoints taken because a consumer-group rebalance was about to release partitions.", nil, nil)
	descTakenOver = prometheus.NewDesc("sluice_kafka_partitions_taken_over_total",
		"Partitions whose state was loaded from the record another process left when a rebalance moved them here.", nil, nil)
	descBadRecords = prometheus.NewDesc("sluice_kafka_partition_records_unusable_total",
		"Partition records that could not be read or restored: their partitions started without them.", nil, nil)
)

// Describe and Collect make the Checkpointer a prometheus.Collector.
func (c *Checkpointer) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCheckpoints, descInProgress, descSeq, descBytes, descDuration, descPaused, descPausedTotal, descLastOK, descCommitFailures, descHandOffs, descTakenOver, descBadRecords} {
		ch <- d
	}
}

func (c *Checkpointer) Collect(ch chan<- prometheus.Metric) {
	st := &c.stats
	inProgress := 0.0
	if st.inProgress.Load() {
		inProgress = 1
	}
	ch <- prometheus.MustNewConstMetric(descCheckpoints, prometheus.CounterValue, float64(st.ok.Load()), "ok")
	ch <- prometheus.MustNewConstMetric(descCheckpoints, prometheus.CounterValue, float64(st.failed.Load()), "failed")
	ch <- prometheus.MustNewConstMetric(descInProgress, prometheus.GaugeValue, inProgress)
	ch <- prometheus.MustNewConstMetric(descSeq, prometheus.GaugeValue, float64(st.seq.Load()))
	ch <- prometheus.MustNewConstMetric(descBytes, prometheus.GaugeValue, float64(st.bytes.Load()))
	ch <- prometheus.MustNewConstMetric(descDuration, prometheus.GaugeValue, time.Duration(st.duration.Load()).Seconds())
	ch <- prometheus.MustNewConstMetric(descPaused, prometheus.GaugeValue, time.Duration(st.paused.Load()).Seconds())
	ch <- prometheus.MustNewConstMetric(descPausedTotal, prometheus.CounterValue, time.Duration(st.pausedTotal.Load()).Seconds())
	ch <- prometheus.MustNewConstMetric(descLastOK, prometheus.GaugeValue, float64(st.lastOK.Load())/1e9)
	ch <- prometheus.MustNewConstMetric(descCommitFailures, prometheus.CounterValue, float64(st.commitFailures.Load()))
	ch <- prometheus.MustNewConstMetric(descHandOffs, prometheus.CounterValue, float64(st.handedOff.Load()))
	ch <- prometheus.MustNewConstMetric(descTakenOver, prometheus.CounterValue, float64(st.takenOver.Load()))
	ch <- prometheus.MustNewConstMetric(descBadRecords, prometheus.CounterValue, float64(st.badRecords.Load()))
}
