// Command manager runs the best-practice Go peer of the ElasticWeb operator: the same behaviour
// as ours (TypeScript), written as a competent controller-runtime engineer would for production.
// README.md explains each choice.
package main

import (
	"flag"
	"os"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	ewv1 "elasticweb.local/bench/peer-go-best/api/v1"
	"elasticweb.local/bench/peer-go-best/controllers"
)

var scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(ewv1.AddToScheme(scheme))
}

func main() {
	var metricsAddr, probeAddr, pprofAddr string
	var leaderElect bool
	var workers int
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "Address of /metrics; 0 turns it off.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address of /healthz and /readyz; 0 turns them off.")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "0", "Address of /debug/pprof; 0 (the default) turns it off.")
	flag.BoolVar(&leaderElect, "leader-elect", false, "Only the holder of a Lease reconciles.")
	flag.IntVar(&workers, "max-concurrent-reconciles", 5, "ElasticWebs reconciled at once.")
	// Production logging: JSON lines at info (zap's production encoder and level).
	opts := zap.Options{Development: false}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	setupLog := ctrl.Log.WithName("setup")

	// Only the children the operator labelled as its own are cached, never every Deployment and
	// Service of the cluster; managedFields (about 45% of each object's JSON) are dropped before
	// an object enters a cache; reads share the cached object instead of deep-copying it (the
	// reconciler copies before it mutates).
	owned := labels.SelectorFromSet(labels.Set{"app.kubernetes.io/managed-by": "elasticweb-operator"})
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress: probeAddr,
		PprofBindAddress:       pprofAddr,
		LeaderElection:         leaderElect,
		LeaderElectionID:       "peer-go-best.elasticweb.example.com",
		Cache: cache.Options{
			DefaultTransform:             cache.TransformStripManagedFields(),
			DefaultUnsafeDisableDeepCopy: ptr.To(true),
			ByObject: map[client.Object]cache.ByObject{
				&appsv1.Deployment{}:            {Label: owned},
				&corev1.Service{}:               {Label: owned},
				&policyv1.PodDisruptionBudget{}: {Label: owned},
			},
		},
	})
	if err != nil {
		setupLog.Error(err, "unable to create the manager")
		os.Exit(1)
	}
	if err := controllers.SetupWithManager(mgr, workers); err != nil {
		setupLog.Error(err, "unable to create the controller")
		os.Exit(1)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		setupLog.Error(err, "unable to set up the health check")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		setupLog.Error(err, "unable to set up the ready check")
		os.Exit(1)
	}
	setupLog.Info("starting manager")
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		setupLog.Error(err, "problem running manager")
		os.Exit(1)
	}
}
