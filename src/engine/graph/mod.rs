//! Service graphs: a small Kubernetes-style kind of our own
//! (`apiVersion: kubectl-netpol.github.io/v1alpha1`, `kind: ServiceGraph`,
//! cluster-scoped) that declares which service talks to which, and the
//! pure translation of such a graph into the NetworkPolicies it implies.
//!
//! Three steps, each usable alone (`generate` runs them in turn; `sync` and
//! the controller are meant to as well):
//!
//! 1. [`parse`]: a JSON object (a manifest document, or the object the API
//!    server stores) -> [`ServiceGraph`], decoded strictly (unknown fields
//!    and wrongly typed values are errors, with the API server's paths and
//!    wording) and validated (names, selectors, CIDRs, ports, references
//!    between services and edges).
//! 2. [`resolve::resolve`]: what the graph names but does not say, looked
//!    up in what is known of the cluster ([`resolve::Environment`]: a
//!    snapshot and the workload objects): the pod selector behind each
//!    workload reference, the DNS pods and their ports (found as `lint`
//!    finds them), and warnings (a named port no destination pod declares,
//!    a service that selects no pod, a pod two services select).
//! 3. [`generate::desired`]: graph + [`resolve::Resolved`] -> the desired
//!    NetworkPolicies, deterministic (the same input gives the same
//!    policies, in the same order, byte for byte once rendered).
//!
//! Group name: `kubectl-netpol.github.io`. An API group must be a DNS
//! name its owner controls, so that two projects never publish the same
//! group (and `*.k8s.io` / `*.kubernetes.io` are reserved for Kubernetes
//! itself). This project's only name of its own is its GitHub
//! organisation's Pages host, `kubectl-netpol.github.io` (as
//! `aquasecurity.github.io` is trivy-operator's group); the graph label
//! uses it as its prefix for the same reason.

pub mod adopt;
pub mod decode;
pub mod generate;
pub mod resolve;
pub mod validate;

use k8s_openapi::api::networking::v1::NetworkPolicyPort;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde::{Deserialize, Serialize};

use crate::engine::validate::FieldError;

pub use generate::{DesiredPolicy, Role, desired};

/// The API group of [`KIND`].
pub const GROUP: &str = "kubectl-netpol.github.io";
/// The only version served so far.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion` of a ServiceGraph: `GROUP/VERSION`.
pub const API_VERSION: &str = "kubectl-netpol.github.io/v1alpha1";
pub const KIND: &str = "ServiceGraph";
/// The CRD's resource (plural) name.
pub const PLURAL: &str = "servicegraphs";

/// The label every generated policy carries, with value [`MANAGED_BY`]
/// (the Kubernetes recommended label).
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "kubectl-netpol";
/// The label naming the graph a generated policy comes from (its value is
/// the graph's `metadata.name`): what `sync` prunes by.
pub const GRAPH_LABEL: &str = "kubectl-netpol.github.io/graph";

/// A service graph as declared. Field for field the kind's schema (see
/// `deploy/crd.yaml`); optional fields are `None` or empty when not given,
/// and the methods give their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceGraph {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: GraphSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GraphSpec {
    /// `Ingress`, `Egress` or both (the default): the directions the
    /// generated policies isolate. Without `Egress`, no egress policy is
    /// generated and egress stays open (DNS included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_types: Option<Vec<String>>,
    /// DNS for every service unless turned off (here, or per service).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsSpec>,
    /// Namespaces whose default deny the graph manages.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<NamespaceSpec>,
    pub services: Vec<ServiceSpec>,
    /// Service -> service connections.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub edges: Vec<EdgeSpec>,
    /// Connections into services from outside the graph (address ranges,
    /// or pods the graph does not declare, such as an ingress controller).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ingress: Vec<IngressSpec>,
    /// Connections from services to outside the graph.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub egress: Vec<EgressSpec>,
}

/// `spec.dns`: on (the default) or off, and optionally where DNS is
/// served, when what the cluster shows should not be used (or nothing is
/// known offline: the usual CoreDNS, kube-system `k8s-app=kube-dns` on UDP
/// and TCP 53, is assumed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DnsSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_selector: Option<LabelSelector>,
    /// The DNS pods' own ports (after a Service's translation): what
    /// NetworkPolicy sees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<NetworkPolicyPort>>,
}

/// `spec.namespaces[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NamespaceSpec {
    pub name: String,
    /// A default deny for every pod of the namespace (in the graph's
    /// policyTypes; with DNS still admitted when the graph's DNS is on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_deny: Option<bool>,
}

/// `spec.services[]`: a name (used in edges and in policy names), a
/// namespace, and its pods: a label selector, or a workload reference
/// (`deployment/api`) whose pods are looked up.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceSpec {
    pub name: String,
    pub namespace: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_selector: Option<LabelSelector>,
    /// `KIND/NAME`: deployment, statefulset, daemonset, replicaset,
    /// replicationcontroller, job or cronjob (or their kubectl short
    /// names: deploy, sts, ds, rs, rc, cj).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    /// DNS for this service (default: `spec.dns.enabled`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<bool>,
}

/// `spec.edges[]`: `from` may open connections to `to` on `ports`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EdgeSpec {
    pub from: String,
    pub to: String,
    /// As a NetworkPolicy's ports: a number, a range (`endPort`), or a
    /// name resolved on the destination's pods; protocol TCP unless said;
    /// an entry with only `protocol` is every port of it.
    pub ports: Vec<NetworkPolicyPort>,
}

/// `spec.ingress[]`: peers outside the graph may connect to `to`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IngressSpec {
    pub to: String,
    pub from: Vec<ExternalPeer>,
    pub ports: Vec<NetworkPolicyPort>,
}

/// `spec.egress[]`: `from` may connect to peers outside the graph.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EgressSpec {
    pub from: String,
    pub to: Vec<ExternalPeer>,
    pub ports: Vec<NetworkPolicyPort>,
}

/// A peer outside the graph: an address range (`cidr`, `except`), or the
/// pods of a namespace (`namespace`, and optionally `podSelector`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExternalPeer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub except: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_selector: Option<LabelSelector>,
}

impl ServiceGraph {
    /// `metadata.name`.
    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or_default()
    }

    /// Whether the generated policies isolate ingress (`spec.policyTypes`
    /// holds `Ingress`, or is not given).
    pub fn isolates_ingress(&self) -> bool {
        self.spec
            .policy_types
            .as_ref()
            .is_none_or(|t| t.iter().any(|t| t == "Ingress"))
    }

    /// Whether the generated policies isolate egress (`spec.policyTypes`
    /// holds `Egress`, or is not given).
    pub fn isolates_egress(&self) -> bool {
        self.spec
            .policy_types
            .as_ref()
            .is_none_or(|t| t.iter().any(|t| t == "Egress"))
    }

    /// `spec.dns.enabled` (default true).
    pub fn dns_enabled(&self) -> bool {
        self.spec
            .dns
            .as_ref()
            .and_then(|d| d.enabled)
            .unwrap_or(true)
    }

    /// Whether `service` gets DNS: its own `dns`, else the graph's; never
    /// when egress is not isolated (it is open anyway).
    pub fn service_dns(&self, service: &ServiceSpec) -> bool {
        self.isolates_egress() && service.dns.unwrap_or_else(|| self.dns_enabled())
    }

    /// The service named `name`.
    pub fn service(&self, name: &str) -> Option<&ServiceSpec> {
        self.spec.services.iter().find(|s| s.name == name)
    }

    /// Whether the graph manages a default deny in `namespace`.
    pub fn default_deny(&self, namespace: &str) -> bool {
        self.spec
            .namespaces
            .iter()
            .any(|n| n.name == namespace && n.default_deny == Some(true))
    }
}

/// Why an object is not a usable ServiceGraph; displayed as the API server
/// would answer `kubectl apply` of it (one line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphError {
    /// Another kind, or a version not served: `no matches for kind
    /// "ServiceGraph" in version "kubectl-netpol.github.io/v1"`.
    Kind { kind: String, api_version: String },
    /// Fields the kind does not have (the server's strict field
    /// validation, kubectl's default).
    Decode(Vec<FieldError>),
    /// Values the schema or the validation rules reject.
    Invalid {
        name: String,
        errors: Vec<FieldError>,
    },
}

impl std::fmt::Display for GraphError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GraphError::Kind { kind, api_version } => write!(
                f,
                "no matches for kind {kind:?} in version {api_version:?} (a service graph is apiVersion: {API_VERSION}, kind: {KIND})"
            ),
            GraphError::Decode(errors) => {
                let fields: Vec<String> = errors.iter().map(ToString::to_string).collect();
                let fields: Vec<&str> = fields
                    .iter()
                    .map(|e| e.strip_prefix("strict decoding error: ").unwrap_or(e))
                    .collect();
                write!(
                    f,
                    "{KIND} in version {VERSION:?} cannot be handled as a {KIND}: strict decoding error: {}",
                    fields.join(", ")
                )
            }
            GraphError::Invalid { name, errors } => {
                let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
                if list.len() == 1 {
                    write!(f, "{KIND} {name:?} is invalid: {}", list[0])
                } else {
                    write!(f, "{KIND} {name:?} is invalid: [{}]", list.join(", "))
                }
            }
        }
    }
}

/// Decodes and validates a ServiceGraph object (see [`decode::decode`] and
/// [`validate::validate`]): the graph, or why the API server would refuse
/// it.
pub fn parse(value: &serde_json::Value) -> Result<ServiceGraph, GraphError> {
    let graph = decode::decode(value)?;
    let errors = validate::validate(&graph);
    if errors.is_empty() {
        Ok(graph)
    } else {
        Err(GraphError::Invalid {
            name: graph.name().to_string(),
            errors,
        })
    }
}

/// Whether `value` is an object of this API group (any kind or version):
/// what `-f` hands to [`parse`], which says what is wrong with a kind or
/// version it does not serve.
pub fn is_graph_group(value: &serde_json::Value) -> bool {
    value
        .get("apiVersion")
        .and_then(serde_json::Value::as_str)
        .and_then(|a| a.split_once('/'))
        .is_some_and(|(group, _)| group == GROUP)
}
