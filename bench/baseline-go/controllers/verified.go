package controllers

// Bench instrument, not part of the tutorial: the same two gauges as bench/peer-go-best, so the
// benchmark times "every ElasticWeb verified" by the operator's own clock for every peer.

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// verifiedSet counts the distinct ElasticWebs reconciled without error since the process
// started, and when that count last grew. The benchmark reads both from /metrics: the restart
// figure is "every ElasticWeb verified", timed by the operator's own clock, so the bench need
// not poll /metrics every few milliseconds (which would load the operator it measures).
type verifiedSet struct {
	mu   sync.Mutex
	keys map[string]struct{}
}

var (
	verifiedObjects = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "elasticweb_verified_objects",
		Help: "Distinct ElasticWebs reconciled without error since the process started.",
	})
	verifiedLast = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "elasticweb_verified_objects_last_timestamp_seconds",
		Help: "Unix time (ms resolution) at which elasticweb_verified_objects last grew.",
	})
)

func init() {
	metrics.Registry.MustRegister(verifiedObjects, verifiedLast)
}

func newVerifiedSet() *verifiedSet { return &verifiedSet{keys: map[string]struct{}{}} }

func (v *verifiedSet) mark(key string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.keys[key]; ok {
		return
	}
	v.keys[key] = struct{}{}
	verifiedObjects.Set(float64(len(v.keys)))
	verifiedLast.Set(float64(time.Now().UnixMilli()) / 1000)
}

func (v *verifiedSet) forget(key string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.keys[key]; ok {
		delete(v.keys, key)
		verifiedObjects.Set(float64(len(v.keys)))
	}
}
