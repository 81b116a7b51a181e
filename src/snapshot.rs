//! The cluster as the engine sees it: namespaces, pods and NetworkPolicies.
//!
//! A [`Snapshot`] is the only input of the engine. Sources (manifests today,
//! a live cluster later) build one; nothing in it does I/O. Pods are kept in a
//! compact form ([`PodInfo`]) because the engine only needs their identity,
//! labels, IPs and container ports; policies stay k8s-openapi objects.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use k8s_openapi::api::networking::v1::NetworkPolicy;

use crate::engine::ports::Protocol;
use crate::engine::validate::FieldError;

/// The label every namespace carries, set by the API server.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

pub type Labels = BTreeMap<String, String>;

/// A namespace: its name and labels (always including
/// `kubernetes.io/metadata.name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceInfo {
    pub name: String,
    pub labels: Labels,
    /// True when the namespace was not in the input and was made up because
    /// an object referred to it.
    pub synthesized: bool,
}

impl NamespaceInfo {
    pub fn new(name: &str, mut labels: Labels, synthesized: bool) -> Self {
        labels.insert(NAMESPACE_NAME_LABEL.to_string(), name.to_string());
        NamespaceInfo {
            name: name.to_string(),
            labels,
            synthesized,
        }
    }
}

/// A container port as declared in a pod spec.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContainerPort {
    pub name: Option<String>,
    pub port: u16,
    pub protocol: Protocol,
}

/// The workload a pod belongs to, in the user's words (`deployment/web`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkloadRef {
    /// Kind as Kubernetes spells it: `Deployment`, `StatefulSet`, ...
    pub kind: String,
    pub name: String,
}

impl WorkloadRef {
    /// `deployment/web`, as kubectl prints resource references.
    pub fn display(&self) -> String {
        format!("{}/{}", self.kind.to_lowercase(), self.name)
    }
}

/// A pod, or the one representative pod of a workload given as a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodInfo {
    pub namespace: String,
    pub name: String,
    pub labels: Labels,
    pub ips: Vec<IpAddr>,
    /// The ports of the containers that serve traffic (regular and sidecar
    /// containers, see [`container_ports`]): named ports resolve here.
    pub ports: Vec<ContainerPort>,
    /// Ports declared only by plain init containers (see
    /// [`init_container_ports`]): never resolved, kept to explain why a
    /// named port does not resolve (and that Calico resolves it).
    pub init_ports: Vec<ContainerPort>,
    pub workload: Option<WorkloadRef>,
    /// Stands for the pods of a workload manifest rather than a real pod.
    pub representative: bool,
    /// `spec.hostNetwork`: the pod shares its node's network namespace and
    /// address. NetworkPolicy leaves such pods undefined; this tool treats
    /// them as their node's address everywhere (see [`PodInfo::on_host_network`]).
    pub host_network: bool,
    /// `spec.nodeName`: the node the pod was scheduled to, if any.
    pub node: Option<String>,
    /// `status.hostIPs` (and `status.hostIP`): the addresses of the pod's
    /// node, as the kubelet reports them. Empty for workload manifests and
    /// pods not yet scheduled.
    pub host_ips: Vec<IpAddr>,
}

impl PodInfo {
    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// `namespace/name`, or `namespace/deployment/web` for a representative
    /// pod (as `can` and `explain` take it): a Pod and a pod-less workload
    /// of the same name stay apart.
    pub fn ref_key(&self) -> String {
        match (&self.workload, self.representative) {
            (Some(w), true) => format!("{}/{}", self.namespace, w.display()),
            _ => self.key(),
        }
    }

    /// The representative pod's workload kind, `None` for a pod: with the
    /// namespace and name, what tells pods of a snapshot apart.
    pub fn representative_kind(&self) -> Option<&str> {
        self.workload
            .as_ref()
            .filter(|_| self.representative)
            .map(|w| w.kind.as_str())
    }

    /// How the user knows this pod: `deployment/web` for a representative
    /// pod, `pod/name` otherwise.
    pub fn display_ref(&self) -> String {
        match (&self.workload, self.representative) {
            (Some(w), true) => w.display(),
            _ => format!("pod/{}", self.name),
        }
    }

    /// Whether the pod uses its node's network (`spec.hostNetwork`). Such a
    /// pod is modelled as its node's address: no NetworkPolicy isolates it,
    /// no pod or namespace selector matches it, ipBlocks match its (the
    /// node's) IPs, and traffic between it and pods on the same node is the
    /// node's own traffic, always allowed.
    pub fn on_host_network(&self) -> bool {
        self.host_network
    }

    /// Whether this stands for a node itself (`node/NAME` on the command
    /// line): the node's network, with the node's addresses.
    pub fn is_node(&self) -> bool {
        self.workload.as_ref().is_some_and(|w| w.kind == "Node")
    }

    /// Whether `self` and `other` are known to run on the same node: the
    /// same `spec.nodeName`, or a shared host IP.
    pub fn same_node(&self, other: &PodInfo) -> bool {
        match (&self.node, &other.node) {
            (Some(a), Some(b)) => a == b,
            _ => self.host_ips.iter().any(|ip| other.host_ips.contains(ip)),
        }
    }

    /// Builds the engine's view of a Pod object. `namespace` is the
    /// namespace the object lands in.
    pub fn from_pod(pod: &Pod, namespace: &str) -> PodInfo {
        let meta = &pod.metadata;
        let mut ips: Vec<IpAddr> = Vec::new();
        let mut host_ips: Vec<IpAddr> = Vec::new();
        if let Some(status) = &pod.status {
            for ip in status.host_ips.iter().flatten() {
                if let Ok(addr) = ip.ip.parse::<IpAddr>()
                    && !host_ips.contains(&addr)
                {
                    host_ips.push(addr);
                }
            }
            if let Some(Ok(addr)) = status.host_ip.as_deref().map(str::parse::<IpAddr>)
                && !host_ips.contains(&addr)
            {
                host_ips.insert(0, addr);
            }
            for ip in status.pod_ips.iter().flatten() {
                if let Ok(addr) = ip.ip.parse::<IpAddr>()
                    && !ips.contains(&addr)
                {
                    ips.push(addr);
                }
            }
            if let Some(Ok(addr)) = status.pod_ip.as_deref().map(str::parse::<IpAddr>)
                && !ips.contains(&addr)
            {
                ips.insert(0, addr);
            }
        }
        let spec = pod.spec.as_ref();
        let host_network = spec.and_then(|s| s.host_network).unwrap_or(false);
        // A host-network pod's IPs are its node's.
        if host_network {
            for ip in &ips {
                if !host_ips.contains(ip) {
                    host_ips.push(*ip);
                }
            }
        }
        PodInfo {
            namespace: namespace.to_string(),
            name: meta.name.clone().unwrap_or_default(),
            labels: meta.labels.clone().unwrap_or_default(),
            ips,
            ports: spec.map(container_ports).unwrap_or_default(),
            init_ports: spec.map(init_container_ports).unwrap_or_default(),
            workload: None,
            representative: false,
            host_network,
            node: spec
                .and_then(|s| s.node_name.clone())
                .filter(|n| !n.is_empty()),
            host_ips,
        }
    }
}

/// The container ports a named port resolves against, as the kubelet's own
/// resolver (`FindPort` in kubernetes `pkg/api/v1/pod/util.go`) reads them:
/// the regular containers first, then the sidecar containers (init
/// containers with `restartPolicy: Always`, which keep running beside the
/// others and serve traffic). Plain init containers are left out: they have
/// exited before the pod serves traffic (see [`init_container_ports`]).
/// Deduplicated, in declaration order; ports outside 0..=65535 are dropped.
pub fn container_ports(spec: &PodSpec) -> Vec<ContainerPort> {
    let sidecars = spec
        .init_containers
        .iter()
        .flatten()
        .filter(|c| is_sidecar(c));
    let mut out: Vec<ContainerPort> = Vec::new();
    for c in spec.containers.iter().chain(sidecars) {
        push_ports(c, &mut out);
    }
    out
}

/// The ports declared only by plain init containers (no `restartPolicy:
/// Always`) and by no container of [`container_ports`]. Such a container has
/// run to completion before the pod's containers start, so a named port
/// declared only there resolves to nothing for the API (and the kubelet);
/// Calico is known to resolve named ports of every init container anyway.
pub fn init_container_ports(spec: &PodSpec) -> Vec<ContainerPort> {
    let serving = container_ports(spec);
    let mut out: Vec<ContainerPort> = Vec::new();
    for c in spec.init_containers.iter().flatten() {
        if !is_sidecar(c) {
            push_ports(c, &mut out);
        }
    }
    out.retain(|p| !serving.contains(p));
    out
}

/// The ports a named port would resolve to on `pod` if plain init
/// containers counted: `Some(["TCP/9090"])` when no serving container
/// declares `name` (with `protocol`, or any protocol when `None`) but a
/// plain init container does, `None` otherwise. Such a name resolves to
/// nothing (the container has exited before the pod serves traffic), but
/// Calico resolves it anyway; the sentence that says so, depending on the
/// CNI `check` found, is `engine::lint::cni::init_port_note`.
pub fn init_only_named_port(
    pod: &PodInfo,
    name: &str,
    protocol: Option<Protocol>,
) -> Option<Vec<String>> {
    let named = |c: &&ContainerPort| {
        c.name.as_deref() == Some(name) && protocol.is_none_or(|p| p == c.protocol)
    };
    if pod.ports.iter().any(|c| named(&c)) {
        return None;
    }
    let found: Vec<String> = pod
        .init_ports
        .iter()
        .filter(named)
        .map(|c| format!("{}/{}", c.protocol, c.port))
        .collect();
    (!found.is_empty()).then_some(found)
}

/// A sidecar container: an init container with `restartPolicy: Always`.
fn is_sidecar(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

fn push_ports(c: &Container, out: &mut Vec<ContainerPort>) {
    for p in c.ports.iter().flatten() {
        let Ok(port) = u16::try_from(p.container_port) else {
            continue;
        };
        let protocol = p
            .protocol
            .as_deref()
            .and_then(Protocol::parse)
            .unwrap_or(Protocol::Tcp);
        let cp = ContainerPort {
            name: p.name.clone().filter(|n| !n.is_empty()),
            port,
            protocol,
        };
        if !out.contains(&cp) {
            out.push(cp);
        }
    }
}

/// Everything the engine looks at.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Sorted by name.
    pub namespaces: Vec<NamespaceInfo>,
    /// Sorted by namespace, then name.
    pub pods: Vec<PodInfo>,
    /// Sorted by namespace, then name.
    pub policies: Vec<NetworkPolicy>,
    /// Problems found while decoding policies (unknown fields), by
    /// `namespace/name`: the API server would reject those policies.
    pub decode_errors: BTreeMap<String, Vec<FieldError>>,
    /// What could not be read from a live cluster.
    pub gaps: Gaps,
    /// Services, used only to spot a Service port written where the
    /// container port is meant.
    pub services: Vec<ServiceInfo>,
    /// Policies (`namespace/name`) that came from a manifest without
    /// `metadata.namespace`.
    pub namespaceless: BTreeSet<String>,
    /// Policies (`namespace/name`) whose manifest writes `egress:` with no
    /// value (null). Decoded as absent, as the API server does, but written
    /// by someone who meant egress (lint's `empty-egress-without-policy-types`).
    pub null_egress: BTreeSet<String>,
    /// Policy objects of kinds the engine does not evaluate (Cilium's,
    /// Calico's, the cluster policy tiers when not read), as `Kind
    /// namespace/name (apiVersion)`, in input order: manifests only.
    pub unevaluated: Vec<String>,
    /// Nodes with their addresses, sorted by name: from Node objects
    /// (manifests, or a live cluster when nodes are readable). Pods'
    /// `status.hostIPs` complete what is known of a node's addresses.
    pub nodes: Vec<NodeInfo>,
    /// Cluster-scoped policies (ClusterNetworkPolicy, AdminNetworkPolicy,
    /// BaselineAdminNetworkPolicy) as written, sorted by kind then name:
    /// decoded and validated by the engine (`engine::tier`).
    pub cluster_policies: Vec<ClusterPolicyObject>,
}

/// A cluster-scoped policy object as read: kept as JSON so that the
/// engine validates it as the API server would (field types included).
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterPolicyObject {
    /// `ClusterNetworkPolicy`, `AdminNetworkPolicy` or
    /// `BaselineAdminNetworkPolicy`.
    pub kind: String,
    /// `policy.networking.k8s.io/v1alpha2`, `.../v1beta1` or `.../v1alpha1`.
    pub api_version: String,
    /// `metadata.name` (empty when missing or not a string).
    pub name: String,
    /// The whole object.
    pub value: serde_json::Value,
}

/// A node: its name, labels and the addresses traffic from it may carry
/// (`status.addresses` of type InternalIP and ExternalIP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    pub name: String,
    pub addresses: Vec<IpAddr>,
    /// `spec.podCIDRs` (or `spec.podCIDR`): the ranges the node's pods get
    /// their IPs from, when the cluster allocates them per node.
    pub pod_cidrs: Vec<ipnet::IpNet>,
    /// The Node's labels (what a cluster policy's `nodes` peer selects).
    pub labels: Labels,
}

impl NodeInfo {
    /// The engine's view of a Node object (addresses that are not IPs,
    /// such as Hostname and InternalDNS, are left out).
    pub fn from_node(node: &k8s_openapi::api::core::v1::Node) -> NodeInfo {
        let mut addresses = Vec::new();
        for a in node
            .status
            .as_ref()
            .and_then(|s| s.addresses.as_ref())
            .into_iter()
            .flatten()
        {
            if matches!(a.type_.as_str(), "InternalIP" | "ExternalIP")
                && let Ok(ip) = a.address.parse::<IpAddr>()
                && !addresses.contains(&ip)
            {
                addresses.push(ip);
            }
        }
        let spec = node.spec.as_ref();
        let mut pod_cidrs: Vec<ipnet::IpNet> = spec
            .and_then(|s| s.pod_cidrs.as_ref())
            .into_iter()
            .flatten()
            .chain(spec.and_then(|s| s.pod_cidr.as_ref()))
            .filter_map(|c| c.parse().ok())
            .collect();
        pod_cidrs.sort();
        pod_cidrs.dedup();
        NodeInfo {
            name: node.metadata.name.clone().unwrap_or_default(),
            addresses,
            pod_cidrs,
            labels: node.metadata.labels.clone().unwrap_or_default(),
        }
    }
}

/// The label an EndpointSlice carries to name its Service
/// (discovery.k8s.io/v1, set by the EndpointSlice controller).
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// A Service: how traffic sent to it reaches pods.
///
/// NetworkPolicy is enforced after a Service's virtual IP has been
/// translated to a backing pod and `port` to `targetPort` (see
/// `engine::service`), so every answer about a Service is an answer about
/// its backends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInfo {
    pub namespace: String,
    pub name: String,
    /// `spec.selector`; empty when the Service has none (the API server
    /// stores an empty selector as none: such a Service gets no
    /// EndpointSlices from the controller).
    pub selector: Labels,
    pub ports: Vec<ServicePort>,
    /// `spec.type` as written: `ClusterIP` (the default), `NodePort`,
    /// `LoadBalancer` or `ExternalName`.
    pub service_type: String,
    /// `spec.clusterIPs` (with `spec.clusterIP` first when only it is set);
    /// empty for a headless or ExternalName Service.
    pub cluster_ips: Vec<IpAddr>,
    /// `spec.clusterIP: None`: no virtual IP; clients reach pod IPs directly.
    pub headless: bool,
    /// `spec.externalName` of an ExternalName Service: a DNS name outside
    /// the cluster's pods.
    pub external_name: Option<String>,
    /// `spec.externalTrafficPolicy` of a NodePort or LoadBalancer Service
    /// (`Cluster`, the default, or `Local`): whether traffic from outside
    /// keeps its client address.
    pub external_traffic_policy: Option<String>,
    /// What the Service's EndpointSlices say its backends are.
    pub slices: Slices,
}

/// A Service port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    /// `name`, required when a Service has several ports.
    pub name: Option<String>,
    pub port: u16,
    pub protocol: Protocol,
    /// `targetPort`: a number, or the name of a container port (resolved on
    /// each backing pod by name and protocol). Defaults to `port`.
    pub target: Result<u16, String>,
}

impl ServicePort {
    /// `80/TCP`, or `http 80/TCP` for a named port.
    pub fn display(&self) -> String {
        match &self.name {
            Some(n) => format!("{n} {}/{}", self.port, self.protocol),
            None => format!("{}/{}", self.port, self.protocol),
        }
    }
}

/// The EndpointSlices of a Service (label `kubernetes.io/service-name`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Slices {
    /// None in the input: the backends come from the selector.
    #[default]
    Absent,
    /// RBAC refused to list them (why): the backends come from the selector.
    Unreadable(String),
    /// The endpoints of every slice of the Service (possibly none).
    Read(Vec<SliceEndpoint>),
}

/// One endpoint of an EndpointSlice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SliceEndpoint {
    /// `addresses` (one for IPv4/IPv6 slices; FQDN slices are left out).
    pub addresses: Vec<IpAddr>,
    /// `targetRef.name` when the target is a Pod (in the slice's namespace).
    pub pod: Option<String>,
    /// `conditions.ready`; unset means ready, as the API documents.
    pub ready: bool,
    /// The slice's `ports`: the target port for each Service port name.
    pub ports: Vec<SlicePort>,
}

/// One port of an EndpointSlice: the Service port `name` it serves and the
/// backend's port number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlicePort {
    pub name: Option<String>,
    pub port: u16,
    pub protocol: Protocol,
}

impl SliceEndpoint {
    /// The endpoints of one EndpointSlice, with the slice's ports. FQDN
    /// slices and unparsable addresses are skipped.
    pub fn from_slice(
        slice: &k8s_openapi::api::discovery::v1::EndpointSlice,
    ) -> Vec<SliceEndpoint> {
        if slice.address_type == "FQDN" {
            return Vec::new();
        }
        let ports: Vec<SlicePort> = slice
            .ports
            .iter()
            .flatten()
            .filter_map(|p| {
                Some(SlicePort {
                    name: p.name.clone().filter(|n| !n.is_empty()),
                    port: u16::try_from(p.port?).ok()?,
                    protocol: p
                        .protocol
                        .as_deref()
                        .and_then(Protocol::parse)
                        .unwrap_or(Protocol::Tcp),
                })
            })
            .collect();
        slice
            .endpoints
            .iter()
            .map(|e| SliceEndpoint {
                addresses: e
                    .addresses
                    .iter()
                    .filter_map(|a| a.parse::<IpAddr>().ok())
                    .collect(),
                pod: e
                    .target_ref
                    .as_ref()
                    .filter(|r| r.kind.as_deref() == Some("Pod"))
                    .and_then(|r| r.name.clone()),
                ready: e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true),
                ports: ports.clone(),
            })
            .filter(|e| !e.addresses.is_empty() || e.pod.is_some())
            .collect()
    }

    /// The Service an EndpointSlice belongs to (its `kubernetes.io/service-name`).
    pub fn service_of(slice: &k8s_openapi::api::discovery::v1::EndpointSlice) -> Option<&str> {
        slice
            .metadata
            .labels
            .as_ref()?
            .get(SERVICE_NAME_LABEL)
            .map(String::as_str)
    }
}

impl ServiceInfo {
    /// The engine's view of a Service object. `namespace` is the namespace
    /// the object lands in. Its slices are [`Slices::Absent`] until a source
    /// attaches them ([`ServiceInfo::attach`]).
    pub fn from_service(svc: &k8s_openapi::api::core::v1::Service, namespace: &str) -> ServiceInfo {
        use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
        let spec = svc.spec.clone().unwrap_or_default();
        let ports = spec
            .ports
            .iter()
            .flatten()
            .filter_map(|p| {
                let port = u16::try_from(p.port).ok()?;
                let target = match &p.target_port {
                    None => Ok(port),
                    // targetPort 0 is defaulted to port by the API server.
                    Some(IntOrString::Int(0)) => Ok(port),
                    Some(IntOrString::Int(n)) => u16::try_from(*n).map_err(|_| n.to_string()),
                    Some(IntOrString::String(s)) => s.parse::<u16>().map_err(|_| s.clone()),
                };
                Some(ServicePort {
                    name: p.name.clone().filter(|n| !n.is_empty()),
                    port,
                    protocol: p
                        .protocol
                        .as_deref()
                        .and_then(Protocol::parse)
                        .unwrap_or(Protocol::Tcp),
                    target,
                })
            })
            .collect();
        let service_type = spec
            .type_
            .clone()
            .unwrap_or_else(|| "ClusterIP".to_string());
        let headless = spec.cluster_ip.as_deref() == Some("None");
        let mut cluster_ips: Vec<IpAddr> = Vec::new();
        let written = spec
            .cluster_ip
            .iter()
            .chain(spec.cluster_ips.iter().flatten());
        for ip in written {
            if let Ok(addr) = ip.parse::<IpAddr>()
                && !cluster_ips.contains(&addr)
            {
                cluster_ips.push(addr);
            }
        }
        let external_name = (service_type == "ExternalName")
            .then(|| spec.external_name.clone().unwrap_or_default());
        if external_name.is_some() {
            cluster_ips.clear();
        }
        ServiceInfo {
            namespace: namespace.to_string(),
            name: svc.metadata.name.clone().unwrap_or_default(),
            selector: spec.selector.clone().unwrap_or_default(),
            ports,
            service_type: service_type.clone(),
            cluster_ips,
            headless,
            external_name,
            external_traffic_policy: matches!(service_type.as_str(), "NodePort" | "LoadBalancer")
                .then(|| {
                    spec.external_traffic_policy
                        .clone()
                        .unwrap_or_else(|| "Cluster".to_string())
                }),
            slices: Slices::Absent,
        }
    }

    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Adds the endpoints of one of this Service's EndpointSlices.
    pub fn attach(&mut self, endpoints: Vec<SliceEndpoint>) {
        match &mut self.slices {
            Slices::Read(list) => list.extend(endpoints),
            other => *other = Slices::Read(endpoints),
        }
    }
}

/// The fields every JSON answer (`list`, `matrix`, `coverage`, `can`,
/// `explain`) carries about the cluster-scoped policies: whether they
/// could be read, and if not why, so that an answer without them never
/// reads as "there are none" (see [`Gaps::cluster_policies_read`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterPoliciesRead {
    /// False when the cluster serves them (or may) and RBAC hid them:
    /// the answer is then NetworkPolicy's alone. True for manifests.
    pub cluster_policies_readable: bool,
    /// Why they could not be read; absent when they could.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_policies_unreadable: Option<String>,
}

/// What RBAC kept us from reading. Answers that depend on it are reported
/// as unknown, never as "none".
#[derive(Debug, Clone, Default)]
pub struct Gaps {
    /// Why namespace labels are unknown, when they are.
    pub namespaces: Option<String>,
    /// Namespaces whose pods could not be listed, with why; `*` stands for
    /// every namespace not in `pods_read`.
    pub pods: BTreeMap<String, String>,
    /// Namespaces whose pods were read in full.
    pub pods_read: BTreeSet<String>,
    /// Why an address given on the command line could not be looked up
    /// among the Services' ClusterIPs, when it could not.
    pub services: Option<String>,
    /// Why Node objects could not be read, when they were wanted (an
    /// address may then be a node's without this being known).
    pub nodes: Option<String>,
    /// Namespaces whose Services could not be read (a Service named on
    /// the command line, or the scope of `lint`), with why; `*` stands for
    /// every namespace.
    pub services_in: BTreeMap<String, String>,
    /// Workloads named on the command line that no pod read runs for and
    /// whose own reading (their pod template) RBAC refused, keyed
    /// `namespace/Kind/name`, with why: whether they exist is unknown.
    pub workloads: BTreeMap<String, String>,
    /// Workloads named on the command line that were looked up by name
    /// and do not exist (the GET said 404), keyed `namespace/Kind/name`.
    pub workloads_absent: BTreeSet<String>,
    /// Workload kinds that could not be listed, by (namespace, kind), with
    /// why (so those of the kind without pods, which stand as one pod
    /// each, are unknown); namespace `*` stands for every namespace.
    pub workload_lists: BTreeMap<(String, String), String>,
    /// Why the cluster-scoped policies (AdminNetworkPolicy,
    /// BaselineAdminNetworkPolicy, ClusterNetworkPolicy) the API server
    /// serves could not be read, when they could not: answers may then
    /// miss a tier above or below NetworkPolicy (see
    /// [`Gaps::cluster_policy_warning`]).
    pub cluster_policies: Option<String>,
    /// True when whether the cluster serves those APIs is itself unknown
    /// (its API discovery for the group was refused): the warning then
    /// says so rather than that it serves them.
    pub cluster_policies_unknown: bool,
    /// True when the snapshot was read from a live cluster: what is
    /// missing is then "not in the cluster" or "not readable", never "not
    /// in the input".
    pub live: bool,
    /// True when only the pods of the command's namespace (`-n`) were
    /// meant to be read: the `*` entry of `pods` is then that choice, not
    /// a refusal.
    pub scoped: bool,
}

impl Gaps {
    /// [`Gaps::workload_lists`] by namespace: (namespace, the kinds
    /// refused there, the first refusal), for messages.
    pub fn workload_gaps(&self) -> Vec<(String, Vec<String>, String)> {
        let mut out: Vec<(String, Vec<String>, String)> = Vec::new();
        for ((ns, kind), why) in &self.workload_lists {
            match out.last_mut() {
                Some((n, kinds, _)) if n == ns => kinds.push(kind.clone()),
                _ => out.push((ns.clone(), vec![kind.clone()], why.clone())),
            }
        }
        out
    }

    /// Whether the stand-ins of `kind` in `namespace` could not be listed.
    pub fn workload_refused(&self, namespace: &str, kind: &str) -> bool {
        [namespace, "*"].iter().any(|ns| {
            self.workload_lists
                .contains_key(&(ns.to_string(), kind.to_string()))
        })
    }

    /// The warning every live answer carries when the cluster serves
    /// cluster-scoped policies that RBAC hides: never "there are none".
    pub fn cluster_policy_warning(&self) -> Option<String> {
        self.cluster_policies.as_ref().map(|why| {
            if self.cluster_policies_unknown {
                format!(
                    "warning: answers may be incomplete: whether the cluster serves cluster-scoped network policies (Admin and Baseline tiers) could not be asked, and they may decide connections shown here ({why})"
                )
            } else {
                format!(
                    "warning: answers may be incomplete: the cluster serves cluster-scoped network policies (Admin and Baseline tiers) that could not be read, and they may decide connections shown here ({why})"
                )
            }
        })
    }

    /// Whether the cluster-scoped policies could be read, as JSON answers
    /// say it ([`ClusterPoliciesRead`]): never "none" when unread.
    pub fn cluster_policies_read(&self) -> ClusterPoliciesRead {
        ClusterPoliciesRead {
            cluster_policies_readable: self.cluster_policies.is_none(),
            cluster_policies_unreadable: self.cluster_policies.as_ref().map(|why| {
                if self.cluster_policies_unknown {
                    format!(
                        "whether the cluster serves cluster-scoped network policies (Admin and Baseline tiers) could not be asked: {why}"
                    )
                } else {
                    format!(
                        "the cluster serves cluster-scoped network policies (Admin and Baseline tiers) that could not be read: {why}"
                    )
                }
            }),
        }
    }

    /// Why the pods of `namespace` are unknown, if they are.
    pub fn pods_unknown_in(&self, namespace: &str) -> Option<&str> {
        if self.pods_read.contains(namespace) {
            return None;
        }
        self.pods
            .get(namespace)
            .or_else(|| self.pods.get("*"))
            .map(String::as_str)
    }

    /// Why RBAC refused the pods of `namespace`, if it did (unlike
    /// [`Gaps::pods_unknown_in`], pods left unread because they were
    /// outside the command's scope are not a refusal).
    pub fn pods_refused_in(&self, namespace: &str) -> Option<&str> {
        if self.pods_read.contains(namespace) {
            return None;
        }
        self.pods
            .get(namespace)
            .or_else(|| self.pods.get("*").filter(|_| !self.scoped))
            .map(String::as_str)
    }

    /// Why the Services of `namespace` are unknown, if they are.
    pub fn services_unknown_in(&self, namespace: &str) -> Option<&str> {
        self.services_in
            .get(namespace)
            .or_else(|| self.services_in.get("*"))
            .map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.namespaces.is_none() && self.pods.is_empty()
    }
}

impl Snapshot {
    /// Builds a snapshot, sorting everything and synthesising namespaces
    /// that objects refer to but the input lacks.
    pub fn new(
        namespaces: Vec<NamespaceInfo>,
        pods: Vec<PodInfo>,
        policies: Vec<NetworkPolicy>,
    ) -> Snapshot {
        let mut by_name: BTreeMap<String, NamespaceInfo> = namespaces
            .into_iter()
            .map(|n| (n.name.clone(), n))
            .collect();
        let referenced = pods
            .iter()
            .map(|p| p.namespace.clone())
            .chain(policies.iter().filter_map(|p| p.metadata.namespace.clone()));
        for ns in referenced {
            by_name
                .entry(ns.clone())
                .or_insert_with(|| NamespaceInfo::new(&ns, Labels::new(), true));
        }
        let mut pods = pods;
        pods.sort_by(|a, b| {
            (&a.namespace, &a.name, a.representative_kind()).cmp(&(
                &b.namespace,
                &b.name,
                b.representative_kind(),
            ))
        });
        let mut policies = policies;
        policies.sort_by(|a, b| {
            (&a.metadata.namespace, &a.metadata.name)
                .cmp(&(&b.metadata.namespace, &b.metadata.name))
        });
        Snapshot {
            namespaces: by_name.into_values().collect(),
            pods,
            policies,
            decode_errors: BTreeMap::new(),
            services: Vec::new(),
            namespaceless: BTreeSet::new(),
            null_egress: BTreeSet::new(),
            unevaluated: Vec::new(),
            gaps: Gaps::default(),
            nodes: Vec::new(),
            cluster_policies: Vec::new(),
        }
    }

    /// Sets the nodes (sorted by name; a later node of the same name wins).
    pub fn set_nodes(&mut self, nodes: Vec<NodeInfo>) {
        let by_name: BTreeMap<String, NodeInfo> =
            nodes.into_iter().map(|n| (n.name.clone(), n)).collect();
        self.nodes = by_name.into_values().collect();
    }

    /// The node named `name`, if it was read.
    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.nodes
            .binary_search_by(|n| n.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.nodes[i])
    }

    /// The name of the node that owns `ip` (a Node's address, or the host
    /// IP of a pod scheduled on a named node), if known.
    pub fn node_of(&self, ip: &IpAddr) -> Option<&str> {
        self.nodes
            .iter()
            .find(|n| n.addresses.contains(ip))
            .map(|n| n.name.as_str())
            .or_else(|| {
                self.pods
                    .iter()
                    .find(|p| p.node.is_some() && p.host_ips.contains(ip))
                    .and_then(|p| p.node.as_deref())
            })
    }

    /// Whether `ip` is known to be a node's address (from Node objects or
    /// pods' host IPs).
    pub fn is_node_address(&self, ip: &IpAddr) -> bool {
        self.nodes.iter().any(|n| n.addresses.contains(ip))
            || self.pods.iter().any(|p| p.host_ips.contains(ip))
    }

    pub fn namespace(&self, name: &str) -> Option<&NamespaceInfo> {
        self.namespaces
            .binary_search_by(|n| n.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.namespaces[i])
    }

    /// Index of namespaces by name, for lookups in hot loops.
    pub fn namespace_index(&self) -> foldhash::HashMap<&str, &NamespaceInfo> {
        self.namespaces
            .iter()
            .map(|n| (n.name.as_str(), n))
            .collect()
    }
}

/// Whether `word` is a legal namespace name (an RFC 1123 label).
pub fn is_namespace_name(word: &str) -> bool {
    !word.is_empty()
        && word.len() <= 63
        && word
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !word.starts_with('-')
        && !word.ends_with('-')
}

/// Whether `word` is a legal name for a pod, a workload or a Service (an
/// RFC 1123 subdomain: the strictest of them is checked by the API server
/// on create, so no object of that kind can be named otherwise).
pub fn is_object_name(word: &str) -> bool {
    !word.is_empty()
        && word.len() <= 253
        && word.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        })
}
