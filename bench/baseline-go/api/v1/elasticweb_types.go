package v1

import (
	"fmt"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ElasticWebSpec is the desired state, with the four fields the article defines.
// The project's CRD has more optional fields (containerPort, resources,
// maxReplicas); the baseline ignores them, as the article has no such fields.
type ElasticWebSpec struct {
	// Image of the web container.
	Image string `json:"image"`
	// Port is the NodePort used for external access.
	Port *int32 `json:"port"`
	// SinglePodsQPS is the QPS one pod can serve.
	SinglePodsQPS *int32 `json:"singlePodsQPS"`
	// TotalQPS is the QPS the whole service must serve.
	TotalQPS *int32 `json:"totalQPS,omitempty"`
}

// ElasticWebStatus is the observed state.
type ElasticWebStatus struct {
	// RealQPS is the QPS the created pods can serve in total.
	RealQPS *int32 `json:"realQPS"`
}

// ElasticWeb is the Schema for the elasticwebs API.
type ElasticWeb struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ElasticWebSpec   `json:"spec,omitempty"`
	Status ElasticWebStatus `json:"status,omitempty"`
}

// ElasticWebList contains a list of ElasticWeb.
type ElasticWebList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ElasticWeb `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ElasticWeb{}, &ElasticWebList{})
}

// String renders the object for the reconcile log line.
//
// Deviation from the article: the article dereferences Port and TotalQPS
// unconditionally and panics when either is absent; both are optional in the
// project's CRD, so nil pointers are printed as "<nil>" here.
func (e *ElasticWeb) String() string {
	realQPS := ""
	if e.Status.RealQPS != nil {
		realQPS = strconv.Itoa(int(*e.Status.RealQPS))
	}
	return fmt.Sprintf("Image [%s], Port [%s], SinglePodQPS [%s], TotalQPS [%s], RealQPS [%s]",
		e.Spec.Image, fmtInt32(e.Spec.Port), fmtInt32(e.Spec.SinglePodsQPS), fmtInt32(e.Spec.TotalQPS), realQPS)
}

func fmtInt32(p *int32) string {
	if p == nil {
		return "<nil>"
	}
	return strconv.Itoa(int(*p))
}

// ---- hand-written deep copy (what controller-gen would generate) ----

func copyInt32(p *int32) *int32 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// DeepCopyInto copies the receiver into out.
func (in *ElasticWebSpec) DeepCopyInto(out *ElasticWebSpec) {
	*out = *in
	out.Port = copyInt32(in.Port)
	out.SinglePodsQPS = copyInt32(in.SinglePodsQPS)
	out.TotalQPS = copyInt32(in.TotalQPS)
}

// DeepCopyInto copies the receiver into out.
func (in *ElasticWebStatus) DeepCopyInto(out *ElasticWebStatus) {
	*out = *in
	out.RealQPS = copyInt32(in.RealQPS)
}

// DeepCopyInto copies the receiver into out.
func (in *ElasticWeb) DeepCopyInto(out *ElasticWeb) {
	*out = *in
	out.TypeMeta = in.TypeMeta
	in.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	in.Spec.DeepCopyInto(&out.Spec)
	in.Status.DeepCopyInto(&out.Status)
}

// DeepCopy returns a deep copy of the receiver.
func (in *ElasticWeb) DeepCopy() *ElasticWeb {
	if in == nil {
		return nil
	}
	out := new(ElasticWeb)
	in.DeepCopyInto(out)
	return out
}

// DeepCopyObject implements runtime.Object.
func (in *ElasticWeb) DeepCopyObject() runtime.Object {
	if c := in.DeepCopy(); c != nil {
		return c
	}
	return nil
}

// DeepCopyInto copies the receiver into out.
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

// DeepCopy returns a deep copy of the receiver.
func (in *ElasticWebList) DeepCopy() *ElasticWebList {
	if in == nil {
		return nil
	}
	out := new(ElasticWebList)
	in.DeepCopyInto(out)
	return out
}

// DeepCopyObject implements runtime.Object.
func (in *ElasticWebList) DeepCopyObject() runtime.Object {
	if c := in.DeepCopy(); c != nil {
		return c
	}
	return nil
}
