package v1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ElasticWebSpec mirrors the project's CRD (src/api/v1/schema.ts): every field, with the
// API server's defaults (containerPort 80, resources 100m/512Mi, maxReplicas 100) applied
// by the CRD, so the peer reads the same numbers ours does.
type ElasticWebSpec struct {
	Image         string                       `json:"image"`
	Port          *int32                       `json:"port,omitempty"`
	SinglePodsQPS int32                        `json:"singlePodsQPS"`
	TotalQPS      *int32                       `json:"totalQPS,omitempty"`
	ContainerPort *int32                       `json:"containerPort,omitempty"`
	Resources     *corev1.ResourceRequirements `json:"resources,omitempty"`
	MaxReplicas   *int32                       `json:"maxReplicas,omitempty"`
}

// ElasticWebStatus has the same fields ours writes (src/controllers/elasticweb/status.ts).
type ElasticWebStatus struct {
	RealQPS            *int32             `json:"realQPS,omitempty"`
	Replicas           *int32             `json:"replicas,omitempty"`
	ReadyReplicas      *int32             `json:"readyReplicas,omitempty"`
	Ready              string             `json:"ready,omitempty"`
	NodePort           *int32             `json:"nodePort,omitempty"`
	ObservedGeneration int64              `json:"observedGeneration,omitempty"`
	Conditions         []metav1.Condition `json:"conditions,omitempty"`
}

// ElasticWeb is one web workload sized by QPS.
type ElasticWeb struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ElasticWebSpec   `json:"spec,omitempty"`
	Status ElasticWebStatus `json:"status,omitempty"`
}

// ElasticWebList is a list of ElasticWeb.
type ElasticWebList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ElasticWeb `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ElasticWeb{}, &ElasticWebList{})
}

// Deep copies, written by hand (what controller-gen would generate for these fields).

func copyInt32(p *int32) *int32 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// DeepCopyInto copies the spec into out.
func (in *ElasticWebSpec) DeepCopyInto(out *ElasticWebSpec) {
	*out = *in
	out.Port = copyInt32(in.Port)
	out.TotalQPS = copyInt32(in.TotalQPS)
	out.ContainerPort = copyInt32(in.ContainerPort)
	out.MaxReplicas = copyInt32(in.MaxReplicas)
	if in.Resources != nil {
		out.Resources = in.Resources.DeepCopy()
	}
}

// DeepCopyInto copies the status into out.
func (in *ElasticWebStatus) DeepCopyInto(out *ElasticWebStatus) {
	*out = *in
	out.RealQPS = copyInt32(in.RealQPS)
	out.Replicas = copyInt32(in.Replicas)
	out.ReadyReplicas = copyInt32(in.ReadyReplicas)
	out.NodePort = copyInt32(in.NodePort)
	if in.Conditions != nil {
		out.Conditions = make([]metav1.Condition, len(in.Conditions))
		for i := range in.Conditions {
			in.Conditions[i].DeepCopyInto(&out.Conditions[i])
		}
	}
}

// DeepCopyInto copies the object into out.
func (in *ElasticWeb) DeepCopyInto(out *ElasticWeb) {
	*out = *in
	out.TypeMeta = in.TypeMeta
	in.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	in.Spec.DeepCopyInto(&out.Spec)
	in.Status.DeepCopyInto(&out.Status)
}

// DeepCopy returns a copy of the object.
func (in *ElasticWeb) DeepCopy() *ElasticWeb {
	if in == nil {
		return nil
	}
	out := new(ElasticWeb)
	in.DeepCopyInto(out)
	return out
}

// DeepCopyObject implements runtime.Object.
func (in *ElasticWeb) DeepCopyObject() runtime.Object { return in.DeepCopy() }

// DeepCopyInto copies the list into out.
func (in *ElasticWebList) DeepCopyInto(out *ElasticWebList) {
	*out = *in
	out.TypeMeta = in.TypeMeta
	in.ListMeta.DeepCopyInto(&out.ListMeta)
	if in.Items != nil {
		out.Items = make([]ElasticWeb, len(in.Items))
		for i := range in.Items {
			in.Items[i].DeepCopyInto(&out.Items[i])
		}
	}
}

// DeepCopy returns a copy of the list.
func (in *ElasticWebList) DeepCopy() *ElasticWebList {
	if in == nil {
		return nil
	}
	out := new(ElasticWebList)
	in.DeepCopyInto(out)
	return out
}

// DeepCopyObject implements runtime.Object.
func (in *ElasticWebList) DeepCopyObject() runtime.Object { return in.DeepCopy() }
