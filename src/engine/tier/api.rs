//! The cluster-scoped policy APIs as they are written, decoded with serde:
//! `ClusterNetworkPolicy` (`policy.networking.k8s.io/v1alpha2`, and
//! `v1beta1`, the same schema) and its predecessors `AdminNetworkPolicy`
//! and `BaselineAdminNetworkPolicy` (`v1alpha1`). One set of types reads
//! the three kinds: the fields of one kind that the others lack stay
//! `None`. Only objects that passed [`super::validate`] are decoded, so
//! these types say nothing about what is allowed; no k8s-openapi type
//! exists for these kinds.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde::Deserialize;

/// `spec` of any of the three kinds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    /// `Admin` | `Baseline` (ClusterNetworkPolicy only).
    pub tier: Option<String>,
    /// 0-1000 (absent in a BaselineAdminNetworkPolicy).
    pub priority: Option<i64>,
    #[serde(default)]
    pub subject: Subject,
    pub ingress: Option<Vec<Rule>>,
    pub egress: Option<Vec<Rule>>,
}

/// `spec.subject`: exactly one of the two.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    pub namespaces: Option<LabelSelector>,
    pub pods: Option<NamespacedPod>,
}

/// `pods` of a subject or peer: pods by labels, in namespaces by labels
/// (an absent `namespaceSelector` means every namespace).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespacedPod {
    pub namespace_selector: Option<LabelSelector>,
    pub pod_selector: Option<LabelSelector>,
}

/// One ingress or egress rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub name: Option<String>,
    /// `Accept`/`Deny`/`Pass` (v1alpha2), `Allow`/`Deny`/`Pass` (v1alpha1).
    #[serde(default)]
    pub action: String,
    /// Ingress peers.
    pub from: Option<Vec<Peer>>,
    /// Egress peers.
    pub to: Option<Vec<Peer>>,
    /// v1alpha2's ports.
    pub protocols: Option<Vec<ProtocolPort>>,
    /// v1alpha1's ports.
    pub ports: Option<Vec<AnpPort>>,
}

/// One peer: exactly one field.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Peer {
    pub namespaces: Option<LabelSelector>,
    pub pods: Option<NamespacedPod>,
    pub networks: Option<Vec<String>>,
    pub nodes: Option<LabelSelector>,
    pub domain_names: Option<Vec<String>>,
}

/// v1alpha2 `protocols[]`: exactly one field.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtocolPort {
    pub tcp: Option<ProtocolDestination>,
    pub udp: Option<ProtocolDestination>,
    pub sctp: Option<ProtocolDestination>,
    pub destination_named_port: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtocolDestination {
    pub destination_port: Option<Port>,
}

/// v1alpha2 `destinationPort`: a number or a range.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Port {
    pub number: Option<i64>,
    pub range: Option<PortRange>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortRange {
    pub protocol: Option<String>,
    pub start: i64,
    pub end: i64,
}

/// v1alpha1 `ports[]`: exactly one field.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnpPort {
    pub port_number: Option<PortNumber>,
    pub named_port: Option<String>,
    pub port_range: Option<PortRange>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortNumber {
    /// Defaults to `TCP`; the schema has no enum (`ICMP` is accepted).
    pub protocol: Option<String>,
    pub port: i64,
}
