//! Does the cluster's CNI enforce NetworkPolicy at all, and with which
//! caveats? The pure half of `kubectl netpol check`: [`assess`] reads the
//! [`Evidence`] gathered elsewhere (kube-system pods, DaemonSets, a few
//! ConfigMaps, Nodes) and answers with an [`Assessment`]. No I/O here.
//!
//! Detection works on *units*: a DaemonSet together with its pods or, when
//! the DaemonSet object itself is absent (an offline dump of pods, or no
//! permission to list DaemonSets), the pods grouped by their owner. Each unit
//! is matched against the known CNIs by name and container images; the
//! matching CNI's own settings (container args and env, its ConfigMap, node
//! annotations) then decide whether it enforces. A policy engine without pods
//! of its own (k3s's embedded controller) is told from the Nodes, and so is
//! the platform ([`platform`]: kind, EKS, GKE, AKS, ...), which changes the
//! verdict where the platform's own engines are known (GKE) and the caveats.
//!
//! The verdict is [`Verdict::Enforced`] when any component found enforces,
//! [`Verdict::NotEnforced`] when components were found and each is known not
//! to, and [`Verdict::Unknown`] otherwise.

pub mod platform;
pub mod tiers;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{ConfigMap, Container, Node, Pod, PodSpec};
use serde_json::Value;

pub use platform::{Platform, PlatformKind};

/// What was read from the cluster or manifests.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// kube-system pods, plus pods of well-known CNI namespaces.
    pub pods: Vec<Pod>,
    /// Cluster-wide where readable.
    pub daemonsets: Vec<DaemonSet>,
    /// e.g. `kube-system/cilium-config`.
    pub configmaps: Vec<ConfigMap>,
    pub nodes: Vec<Node>,
    /// What could not be read, e.g. `daemonsets in any namespace (forbidden)`.
    pub unreadable: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Enforced,
    NotEnforced,
    Unknown,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Assessment {
    pub verdict: Verdict,
    /// One sentence.
    pub reason: String,
    /// The platform the Nodes show (see [`platform`]); `None` when no node
    /// shows one, or the nodes could not be read.
    pub platform: Option<Platform>,
    pub found: Vec<Component>,
    pub caveats: Vec<String>,
    /// e.g. `daemonset kube-system/calico-node: 2 of 3 pods ready`.
    pub problems: Vec<String>,
    pub unreadable: Vec<String>,
    /// Live only (set by `check`, not by [`assess`]): the cluster-scoped
    /// policy APIs the API server serves (`AdminNetworkPolicy
    /// (policy.networking.k8s.io/v1alpha1)`, ...); empty when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_policy_apis: Option<Vec<String>>,
    /// Live only, with `cluster_policy_apis` ([`tiers::support`]): per
    /// served API, whether the components found implement it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_policy_support: Option<Vec<tiers::ApiSupport>>,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    /// "Calico", "Cilium", "flannel", ...
    pub name: String,
    /// `None` when it cannot be told.
    pub enforces: Option<bool>,
    /// "operator install", "enable-policy: never", "policy audit mode", ...
    pub detail: String,
    /// From the main container's image tag, e.g. "v3.28.1".
    pub version: Option<String>,
    pub evidence: Vec<EvidenceItem>,
    /// Whether it implements each cluster-scoped policy API (see
    /// [`tiers`]); shown by `check` for the APIs the cluster serves.
    #[serde(skip)]
    pub cluster_apis: Vec<tiers::Implementation>,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceItem {
    /// "DaemonSet", "Pod", "ConfigMap", "Node".
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    /// "3/3" for daemonsets (numberReady/desiredNumberScheduled), "1/1"
    /// containers ready for pods.
    pub ready: Option<String>,
    pub images: Vec<String>,
}

/// Namespaces where CNIs install themselves besides kube-system: `check`
/// reads the pods of these (live and from manifests alike).
pub const CNI_NAMESPACES: [&str; 6] = [
    "calico-system",
    "tigera-operator",
    "kube-flannel",
    "cilium",
    "ovn-kubernetes",
    "openshift-ovn-kubernetes",
];

/// The ConfigMaps (`namespace`, `name`) that hold CNI settings `check`
/// reads: the live check GETs exactly these, and manifests are read the
/// same way, so that the same objects give the same verdict.
pub const CNI_CONFIGMAPS: [(&str, &str); 3] = [
    ("kube-system", "cilium-config"),
    ("cilium", "cilium-config"),
    ("kube-system", "amazon-vpc-cni"),
];

/// Whether `check` looks at the pods of `namespace`.
pub fn cni_namespace(namespace: &str) -> bool {
    namespace == "kube-system" || CNI_NAMESPACES.contains(&namespace)
}

/// Sorts Kubernetes objects (JSON values, e.g. parsed YAML documents) into
/// [`Evidence`] by kind. `List`s (and typed lists such as `PodList`) are
/// flattened; kinds other than Pod, DaemonSet, ConfigMap and Node are
/// ignored, and so are null values (empty YAML documents), pods outside
/// kube-system and [`CNI_NAMESPACES`], and ConfigMaps other than
/// [`CNI_CONFIGMAPS`] (what a live `check` reads). Nodes are all read: the
/// live `check` reads the control-plane nodes and a first page of others,
/// and what it looks for (the platform, k3s's server flags) shows on those.
pub fn evidence_from_values(values: impl IntoIterator<Item = Value>) -> Result<Evidence, String> {
    let mut e = Evidence::default();
    for v in values {
        push_value(&mut e, &v)?;
    }
    Ok(e)
}

/// Adds one object (or a list's items) to `e`; see [`evidence_from_values`].
pub fn push_value(e: &mut Evidence, v: &Value) -> Result<(), String> {
    push(e, v, None)
}

fn push(e: &mut Evidence, v: &Value, implied_kind: Option<&str>) -> Result<(), String> {
    let map = match v {
        Value::Null => return Ok(()),
        Value::Object(map) => map,
        _ => return Err("not a Kubernetes object (expected a mapping with a kind)".to_string()),
    };
    let kind = map
        .get("kind")
        .and_then(Value::as_str)
        .or(implied_kind)
        .unwrap_or("");
    if kind == "List" || (kind.ends_with("List") && map.contains_key("items")) {
        let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
        for item in map
            .get("items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            push(e, item, item_kind)?;
        }
        return Ok(());
    }
    let api = map.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let core = api.is_empty() || api == "v1";
    let meta = map.get("metadata");
    let field = |k: &str| {
        meta.and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    let what = || {
        let (ns, name) = (field("namespace"), field("name"));
        if ns.is_empty() {
            format!("{kind} {name}")
        } else {
            format!("{kind} {ns}/{name}")
        }
    };
    match kind {
        "Pod" if core && cni_namespace(field("namespace")) => e.pods.push(decode(v, what)?),
        "ConfigMap" if core && CNI_CONFIGMAPS.contains(&(field("namespace"), field("name"))) => {
            e.configmaps.push(decode(v, what)?)
        }
        "Node" if core => e.nodes.push(decode(v, what)?),
        "DaemonSet" if api.is_empty() || api == "apps/v1" => e.daemonsets.push(decode(v, what)?),
        _ => {}
    }
    Ok(())
}

fn decode<T: serde::de::DeserializeOwned>(
    v: &Value,
    what: impl Fn() -> String,
) -> Result<T, String> {
    T::deserialize(v).map_err(|err| format!("invalid {}: {err}", what()))
}

/// Decides whether the cluster's CNI enforces NetworkPolicy.
pub fn assess(e: &Evidence) -> Assessment {
    let units = build_units(e);
    let classified: Vec<(Cni, Role, &Unit)> = units
        .iter()
        .filter_map(|u| classify(u).map(|(cni, role)| (cni, role, u)))
        .collect();

    // Canal bundles Calico: Calico's helpers (calico-kube-controllers) go
    // with it when there is no calico-node of its own.
    let has_agent = |cni: Cni| {
        classified
            .iter()
            .any(|(c, r, _)| *c == cni && *r == Role::Agent)
    };
    let helpers_to_canal = has_agent(Cni::Canal) && !has_agent(Cni::Calico);
    let classified: Vec<(Cni, Role, &Unit)> = classified
        .iter()
        .map(|&(c, r, u)| match (c, r) {
            (Cni::Calico, Role::Aux) if helpers_to_canal => (Cni::Canal, r, u),
            _ => (c, r, u),
        })
        .collect();

    let mut judged: Vec<Judged> = Vec::new();
    for cni in Cni::ALL {
        let agents: Vec<&Unit> = classified
            .iter()
            .filter(|(c, r, _)| *c == cni && *r == Role::Agent)
            .map(|(_, _, u)| *u)
            .collect();
        let aux: Vec<&Unit> = classified
            .iter()
            .filter(|(c, r, _)| *c == cni && *r == Role::Aux)
            .map(|(_, _, u)| *u)
            .collect();
        if agents.is_empty() {
            if !aux.is_empty() {
                judged.push(aux_only(cni, &aux));
            }
            continue;
        }
        for (i, agent) in agents.iter().enumerate() {
            let mut j = judge(cni, agent, e, &aux);
            if i == 0 {
                for a in &aux {
                    j.component.evidence.extend(a.evidence.iter().cloned());
                    j.problems.extend(a.problems.iter().cloned());
                }
            }
            judged.push(j);
        }
    }
    if let Some(j) = judge_k3s(e) {
        judged.push(j);
    }
    // An engine with no ready pod enforces nothing today: cannot tell.
    for j in judged.iter_mut() {
        let daemonsets: Vec<&EvidenceItem> = j
            .component
            .evidence
            .iter()
            .filter(|i| i.kind == "DaemonSet")
            .collect();
        let none_ready = !daemonsets.is_empty()
            && daemonsets.iter().all(|i| {
                i.ready
                    .as_deref()
                    .and_then(|r| r.split_once('/'))
                    .is_some_and(|(ready, want)| ready == "0" && want != "0")
            });
        if none_ready && j.component.enforces == Some(true) {
            j.undecided(
                "no agent pod is ready",
                "none of its agent pods is ready, so nothing enforces policies right now",
            );
        }
    }

    // What each implements of the cluster-scoped policy APIs (once
    // whether it enforces at all is settled).
    for j in judged.iter_mut() {
        let containers: Vec<&Container> = j.containers.iter().collect();
        j.component.cluster_apis = tiers::implementations(j.cni, &j.component, &containers);
    }
    let enforcing: Vec<&Judged> = judged
        .iter()
        .filter(|j| j.component.enforces == Some(true))
        .collect();
    let undecided = judged.iter().find(|j| j.component.enforces.is_none());
    // "Not enforced" from incomplete evidence could be wrong: an engine may
    // be among what could not be read.
    let platform = platform::detect(&e.nodes);
    let kind = platform.as_ref().map(|p| p.kind);
    // GKE enforces NetworkPolicy through Dataplane V2 (anetd) or, on the
    // legacy dataplane, through Calico once network policy enforcement is
    // turned on; both run in kube-system. Neither there: not enforced.
    let gke_without_engine = kind == Some(PlatformKind::Gke)
        && judged.is_empty()
        && e.unreadable.is_empty()
        && saw_kube_system(e);
    let verdict = if !enforcing.is_empty() {
        Verdict::Enforced
    } else if gke_without_engine {
        Verdict::NotEnforced
    } else if judged.is_empty() || undecided.is_some() || !e.unreadable.is_empty() {
        Verdict::Unknown
    } else {
        Verdict::NotEnforced
    };

    let reason = match verdict {
        Verdict::Enforced => {
            let j = enforcing[0];
            format!("{} ({}) enforces NetworkPolicy.", j.component.name, j.label)
        }
        Verdict::NotEnforced if gke_without_engine => GKE_WITHOUT_ENGINE.to_string(),
        Verdict::NotEnforced => {
            if let [j] = judged.as_slice() {
                let why = j.why_not.as_deref().unwrap_or("it has no policy engine");
                if j.alone {
                    format!(
                        "{} alone does not enforce NetworkPolicy: {why}.",
                        j.component.name
                    )
                } else {
                    format!(
                        "{} ({}) does not enforce NetworkPolicy: {why}.",
                        j.component.name, j.label
                    )
                }
            } else {
                let names: Vec<String> = judged
                    .iter()
                    .map(|j| match &j.why_not {
                        Some(why) => format!("{}: {why}", j.component.name),
                        None => j.component.name.clone(),
                    })
                    .collect();
                format!(
                    "None of the CNI components found enforces NetworkPolicy ({}).",
                    names.join("; ")
                )
            }
        }
        Verdict::Unknown => match undecided {
            Some(j) => format!(
                "{} ({}) was found, but whether it enforces NetworkPolicy cannot be told: {}.",
                j.component.name,
                j.label,
                j.why_not
                    .as_deref()
                    .unwrap_or("its configuration is not recognized")
            ),
            None if e.unreadable.is_empty() => {
                "No known CNI was found in kube-system; enforcement cannot be told.".to_string()
            }
            // Found, none enforcing, but not everything was read: an
            // engine may be among what was not.
            None if !judged.is_empty() => {
                let names: Vec<&str> = judged.iter().map(|j| j.component.name.as_str()).collect();
                format!(
                    "{} found does not enforce NetworkPolicy, but not everything could be read ({}): a policy engine may be among it; enforcement cannot be told.",
                    names.join(", "),
                    e.unreadable.join(", ")
                )
            }
            None => "No known CNI was found in what could be read; enforcement cannot be told."
                .to_string(),
        },
    };

    let mut caveats: Vec<String> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    for j in &judged {
        let relevant = verdict != Verdict::Enforced || j.component.enforces == Some(true);
        if relevant {
            for c in &j.caveats {
                push_unique(&mut caveats, c.clone());
            }
        }
        for p in &j.problems {
            push_unique(&mut problems, p.clone());
        }
        if let Some(fact) = &j.off_fact
            && (j.always_a_problem || verdict == Verdict::NotEnforced)
        {
            push_unique(&mut problems, fact.clone());
        }
    }
    let mut names: Vec<&str> = Vec::new();
    for j in &enforcing {
        if !names.contains(&j.component.name.as_str()) {
            names.push(&j.component.name);
        }
    }
    if names.len() > 1 {
        push_unique(
            &mut caveats,
            format!(
                "More than one policy engine was found ({}); each applies NetworkPolicy on its own, so traffic must pass all of them.",
                names.join(", ")
            ),
        );
    }
    platform_notes(kind, &judged, &mut caveats);
    if gke_without_engine {
        push_unique(
            &mut problems,
            "GKE: neither Dataplane V2 (DaemonSet kube-system/anetd) nor network policy enforcement (DaemonSet kube-system/calico-node) was found".to_string(),
        );
    }
    if verdict != Verdict::Enforced && !e.unreadable.is_empty() {
        push_unique(
            &mut caveats,
            "Not everything could be read (see unreadable), so a policy engine may have been missed."
                .to_string(),
        );
    }

    Assessment {
        verdict,
        reason,
        platform,
        found: judged.into_iter().map(|j| j.component).collect(),
        caveats,
        problems,
        unreadable: e.unreadable.clone(),
        cluster_policy_apis: None,
        cluster_policy_support: None,
    }
}

const GKE_WITHOUT_ENGINE: &str = "GKE enforces NetworkPolicy only with Dataplane V2 or with network policy enforcement (Calico) turned on, and neither was found.";

/// Whether the evidence holds anything of kube-system (pods or
/// DaemonSets): where the platforms' own policy engines would be.
fn saw_kube_system(e: &Evidence) -> bool {
    e.pods
        .iter()
        .any(|p| p.metadata.namespace.as_deref() == Some("kube-system"))
        || e.daemonsets
            .iter()
            .any(|d| d.metadata.namespace.as_deref() == Some("kube-system"))
}

/// What the platform adds to the caveats, given the components found.
fn platform_notes(kind: Option<PlatformKind>, judged: &[Judged], caveats: &mut Vec<String>) {
    let has = |name: &str| judged.iter().any(|j| j.component.name == name);
    match kind {
        Some(PlatformKind::Eks) if has(Cni::Aws.name()) => push_unique(
            caveats,
            "On EKS the VPC CNI applies NetworkPolicy on EC2 Linux nodes only: pods on Fargate and Windows nodes are not isolated by it.".to_string(),
        ),
        Some(PlatformKind::Eks) if judged.is_empty() => push_unique(
            caveats,
            "On EKS NetworkPolicy is enforced by the VPC CNI's network policy agent (in DaemonSet kube-system/aws-node) once it is enabled, or by another engine (Calico, Cilium, ...); none was found.".to_string(),
        ),
        Some(PlatformKind::Aks) if judged.is_empty() => push_unique(
            caveats,
            "On AKS NetworkPolicy is enforced by the engine chosen as the cluster's network policy (Azure NPM, Calico or Cilium); none was found, so unless the cluster brings its own CNI, policies are not enforced.".to_string(),
        ),
        _ => {}
    }
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

// ---------------------------------------------------------------------------
// Units: a DaemonSet with its pods, or pods grouped by owner.

struct Unit<'a> {
    namespace: String,
    /// DaemonSet name, or the owner name of a group of pods.
    name: String,
    /// "daemonset" or "pods", for problem lines.
    what: &'static str,
    spec: Option<&'a PodSpec>,
    evidence: Vec<EvidenceItem>,
    problems: Vec<String>,
}

impl Unit<'_> {
    fn containers(&self) -> &[Container] {
        self.spec.map(|s| s.containers.as_slice()).unwrap_or(&[])
    }

    fn subject(&self) -> String {
        format!("{} {}/{}", self.what, self.namespace, self.name)
    }
}

fn build_units(e: &Evidence) -> Vec<Unit<'_>> {
    let mut units = Vec::new();
    let mut claimed = vec![false; e.pods.len()];
    for ds in &e.daemonsets {
        let ns = ds.metadata.namespace.clone().unwrap_or_default();
        let name = ds.metadata.name.clone().unwrap_or_default();
        let spec = ds.spec.as_ref().and_then(|s| s.template.spec.as_ref());
        let mut problems = Vec::new();
        let ready = ds.status.as_ref().map(|st| {
            if st.desired_number_scheduled == 0 {
                problems.push(format!(
                    "daemonset {ns}/{name}: no pods scheduled on any node"
                ));
            } else if st.number_ready < st.desired_number_scheduled {
                problems.push(format!(
                    "daemonset {ns}/{name}: {} of {} pods ready",
                    st.number_ready, st.desired_number_scheduled
                ));
            }
            format!("{}/{}", st.number_ready, st.desired_number_scheduled)
        });
        for (i, pod) in e.pods.iter().enumerate() {
            let owned = pod.metadata.namespace.as_deref().unwrap_or_default() == ns
                && owner(pod).is_some_and(|(k, n)| k == "DaemonSet" && n == name);
            if owned {
                claimed[i] = true;
                if let Some(p) = pod_problem(pod) {
                    problems.push(p);
                }
            }
        }
        units.push(Unit {
            evidence: vec![EvidenceItem {
                kind: "DaemonSet".to_string(),
                namespace: Some(ns.clone()),
                name: name.clone(),
                ready,
                images: images(spec),
            }],
            namespace: ns,
            name,
            what: "daemonset",
            spec,
            problems,
        });
    }

    let mut groups: BTreeMap<(String, String), Vec<&Pod>> = BTreeMap::new();
    for (i, pod) in e.pods.iter().enumerate() {
        if claimed[i] || pod_phase(pod) == Some("Succeeded") {
            continue;
        }
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        groups.entry((ns, group_name(pod))).or_default().push(pod);
    }
    for ((ns, name), pods) in groups {
        let spec = pods.first().and_then(|p| p.spec.as_ref());
        let evidence = pods
            .iter()
            .map(|p| EvidenceItem {
                kind: "Pod".to_string(),
                namespace: Some(ns.clone()),
                name: p.metadata.name.clone().unwrap_or_default(),
                ready: pod_ready(p),
                images: images(p.spec.as_ref()),
            })
            .collect();
        let problems = pods.iter().filter_map(|p| pod_problem(p)).collect();
        units.push(Unit {
            namespace: ns,
            name,
            what: "pods",
            spec,
            evidence,
            problems,
        });
    }
    units
}

/// The controlling owner's kind and name.
fn owner(pod: &Pod) -> Option<(&str, &str)> {
    let refs = pod.metadata.owner_references.as_deref()?;
    refs.iter()
        .find(|o| o.controller == Some(true))
        .or(refs.first())
        .map(|o| (o.kind.as_str(), o.name.as_str()))
}

/// What pods are grouped by when their DaemonSet is not at hand: the owner's
/// name (a ReplicaSet's without its hash, i.e. the Deployment's), else the
/// pod's own name.
fn group_name(pod: &Pod) -> String {
    match owner(pod) {
        Some(("ReplicaSet", name)) => match name.rsplit_once('-') {
            Some((deployment, _)) if !deployment.is_empty() => deployment.to_string(),
            _ => name.to_string(),
        },
        Some(("Node", _)) | None => pod.metadata.name.clone().unwrap_or_default(),
        Some((_, name)) => name.to_string(),
    }
}

fn pod_phase(pod: &Pod) -> Option<&str> {
    pod.status.as_ref()?.phase.as_deref()
}

/// "ready/total" containers, when the pod has a status.
fn pod_ready(pod: &Pod) -> Option<String> {
    let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
    let total = pod
        .spec
        .as_ref()
        .map(|s| s.containers.len())
        .unwrap_or(statuses.len())
        .max(statuses.len());
    let ready = statuses.iter().filter(|s| s.ready).count();
    Some(format!("{ready}/{total}"))
}

/// A line for a pod whose Ready condition is not True.
fn pod_problem(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    if status.phase.as_deref() == Some("Succeeded") {
        return None;
    }
    let ready = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.status == "True");
    let stuck = matches!(
        status.phase.as_deref(),
        Some("Pending" | "Failed" | "Unknown")
    );
    match ready {
        Some(true) => return None,
        None if !stuck => return None,
        _ => {}
    }
    let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let mut parts = Vec::new();
    if let Some(r) = pod_ready(pod) {
        parts.push(format!("{r} containers ready"));
    } else if let Some(phase) = &status.phase {
        parts.push(phase.to_lowercase());
    }
    let waiting = status.container_statuses.iter().flatten().find_map(|s| {
        let state = s.state.as_ref()?;
        let reason = state
            .waiting
            .as_ref()
            .and_then(|w| w.reason.clone())
            .or_else(|| state.terminated.as_ref().and_then(|t| t.reason.clone()));
        match reason {
            Some(r) if !s.ready => Some(format!("{}: {r}", s.name)),
            _ => None,
        }
    });
    parts.extend(waiting);
    if parts.is_empty() {
        Some(format!("pod {ns}/{name}: not ready"))
    } else {
        Some(format!("pod {ns}/{name}: not ready ({})", parts.join("; ")))
    }
}

fn images(spec: Option<&PodSpec>) -> Vec<String> {
    spec.map(|s| {
        s.containers
            .iter()
            .filter_map(|c| c.image.clone())
            .collect()
    })
    .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Images and command lines.

fn image_of(c: &Container) -> &str {
    c.image.as_deref().unwrap_or("")
}

/// The image without digest and tag, lower-cased: `docker.io/calico/node`.
fn image_repo(image: &str) -> String {
    let no_digest = image.split('@').next().unwrap_or(image);
    let repo = match no_digest.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => no_digest,
    };
    repo.to_ascii_lowercase()
}

/// The image tag, ignoring digests and `latest`.
fn image_tag(image: &str) -> Option<String> {
    let no_digest = image.split('@').next().unwrap_or(image);
    match no_digest.rsplit_once(':') {
        Some((_, tag)) if !tag.contains('/') && !tag.is_empty() && tag != "latest" => {
            Some(tag.to_string())
        }
        _ => None,
    }
}

/// Whether the image's repository is `path` or ends with `/path`.
fn repo_is(image: &str, path: &str) -> bool {
    let repo = image_repo(image);
    repo == path || repo.ends_with(&format!("/{path}"))
}

/// The last path segment of the image's repository: `node` for calico/node.
fn repo_last(image: &str) -> String {
    let repo = image_repo(image);
    repo.rsplit('/').next().unwrap_or_default().to_string()
}

fn is_calico_node(c: &Container) -> bool {
    c.name == "calico-node"
        || repo_is(image_of(c), "calico/node")
        || repo_last(image_of(c)) == "cnx-node"
}

fn is_flannel(c: &Container) -> bool {
    let last = repo_last(image_of(c));
    c.name == "kube-flannel" || last == "flannel" || last.ends_with("-flannel")
}

/// Command and args of a container, in order.
fn cmdline(c: &Container) -> Vec<&str> {
    c.command
        .iter()
        .flatten()
        .chain(c.args.iter().flatten())
        .map(String::as_str)
        .collect()
}

/// A boolean Go flag (`--name`, `--name=false`; one or two dashes); the last
/// occurrence wins.
fn bool_flag(args: &[&str], name: &str) -> Option<bool> {
    let mut found = None;
    for a in args {
        let Some(rest) = a.strip_prefix("--").or_else(|| a.strip_prefix('-')) else {
            continue;
        };
        if rest == name {
            found = Some(true);
        } else if let Some(v) = rest.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
            found = parse_bool(v).or(found);
        }
    }
    found
}

/// A string flag (`--name=value` or `--name value`); the last occurrence wins.
fn str_flag<'a>(args: &[&'a str], name: &str) -> Option<&'a str> {
    let mut found = None;
    for (i, a) in args.iter().enumerate() {
        let Some(rest) = a.strip_prefix("--").or_else(|| a.strip_prefix('-')) else {
            continue;
        };
        if rest == name {
            found = args
                .get(i + 1)
                .copied()
                .filter(|v| !v.starts_with('-'))
                .or(found);
        } else if let Some(v) = rest.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
            found = Some(v);
        }
    }
    found
}

/// Go's strconv.ParseBool.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// `v3.28.1` / `1.14.10-1` → (3, 28) / (1, 14).
fn major_minor(version: &str) -> Option<(u64, u64)> {
    let v = version.strip_prefix('v').unwrap_or(version);
    let mut parts = v.split('.');
    let num = |s: Option<&str>| -> Option<u64> {
        let s = s?;
        let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    let major = num(parts.next())?;
    let minor = num(parts.next())?;
    Some((major, minor))
}

fn env_value<'a>(c: &'a Container, name: &str) -> Option<&'a str> {
    c.env
        .iter()
        .flatten()
        .find(|v| v.name == name)
        .and_then(|v| v.value.as_deref())
}

// ---------------------------------------------------------------------------
// Matching units to CNIs.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cni {
    GkeDataplaneV2,
    Canal,
    Calico,
    Cilium,
    Antrea,
    Weave,
    KubeRouter,
    KubeNetworkPolicies,
    Kindnet,
    Flannel,
    Aws,
    AzureNpm,
    OvnKubernetes,
}

impl Cni {
    /// Also the order in which components are listed.
    const ALL: [Cni; 13] = [
        Cni::GkeDataplaneV2,
        Cni::Canal,
        Cni::Calico,
        Cni::Cilium,
        Cni::Antrea,
        Cni::Weave,
        Cni::KubeRouter,
        Cni::KubeNetworkPolicies,
        Cni::Kindnet,
        Cni::Flannel,
        Cni::Aws,
        Cni::AzureNpm,
        Cni::OvnKubernetes,
    ];

    fn name(self) -> &'static str {
        match self {
            Cni::GkeDataplaneV2 => "GKE Dataplane V2",
            Cni::Canal => "Canal",
            Cni::Calico => "Calico",
            Cni::Cilium => "Cilium",
            Cni::Antrea => "Antrea",
            Cni::Weave => "Weave Net",
            Cni::KubeRouter => "kube-router",
            Cni::KubeNetworkPolicies => "kube-network-policies",
            Cni::Kindnet => "kindnet",
            Cni::Flannel => "flannel",
            Cni::Aws => "AWS VPC CNI",
            Cni::AzureNpm => "Azure NPM",
            Cni::OvnKubernetes => "OVN-Kubernetes",
        }
    }

    /// The per-node agent, named when only helpers were found.
    fn agent(self) -> &'static str {
        match self {
            Cni::Calico => "calico-node",
            Cni::Cilium => "cilium",
            Cni::Antrea => "antrea-agent",
            _ => "node",
        }
    }
}

/// A per-node agent, or a helper (operator, controller) that only adds
/// evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Agent,
    Aux,
}

fn classify(u: &Unit) -> Option<(Cni, Role)> {
    use Cni::*;
    use Role::*;
    let n = u.name.as_str();
    let cs = u.containers();
    let has_image = |path: &str| cs.iter().any(|c| repo_is(image_of(c), path));
    let has_container = |name: &str| cs.iter().any(|c| c.name == name);
    let calico = cs.iter().any(is_calico_node);
    let flannel = cs.iter().any(is_flannel);
    // anetd runs a Cilium image, so it is told apart by name first.
    let found = if n == "anetd" {
        (GkeDataplaneV2, Agent)
    } else if n == "canal" || n.ends_with("-canal") || (calico && flannel) {
        (Canal, Agent)
    } else if n == "calico-node" || calico {
        (Calico, Agent)
    } else if n == "tigera-operator"
        || n == "calico-kube-controllers"
        || n == "calico-typha"
        || has_image("tigera/operator")
        || has_image("calico/kube-controllers")
        || has_image("calico/typha")
    {
        (Calico, Aux)
    } else if n == "cilium" || has_container("cilium-agent") || has_image("cilium/cilium") {
        (Cilium, Agent)
    } else if n == "cilium-operator"
        || cs.iter().any(|c| {
            image_repo(image_of(c)).contains("cilium/")
                && repo_last(image_of(c)).starts_with("operator")
        })
    {
        (Cilium, Aux)
    } else if n == "antrea-agent" || has_container("antrea-agent") {
        (Antrea, Agent)
    } else if n == "antrea-controller" || has_container("antrea-controller") {
        (Antrea, Aux)
    } else if n == "weave-net" || has_image("weave-kube") {
        (Weave, Agent)
    } else if n == "kube-router" || has_image("kube-router") {
        (KubeRouter, Agent)
    } else if n == "kube-network-policies" || has_image("kube-network-policies") {
        (KubeNetworkPolicies, Agent)
    } else if n == "kindnet" || has_image("kindnetd") {
        (Kindnet, Agent)
    } else if n.starts_with("kube-flannel") || flannel {
        (Flannel, Agent)
    } else if n == "aws-node" || has_image("amazon-k8s-cni") {
        (Aws, Agent)
    } else if n == "azure-npm" || n.starts_with("azure-npm-") || has_image("azure-npm") {
        (AzureNpm, Agent)
    } else if n.starts_with("ovnkube-node") {
        (OvnKubernetes, Agent)
    } else {
        return None;
    };
    // A DaemonSet named like a CNI but running something else is not it.
    let family = match found.0 {
        GkeDataplaneV2 => &["cilium", "anetd", "gke"][..],
        Canal | Calico => &["calico", "tigera", "canal", "flannel"][..],
        Cilium => &["cilium"][..],
        Antrea => &["antrea"][..],
        Weave => &["weave"][..],
        KubeRouter => &["kube-router"][..],
        KubeNetworkPolicies => &["kube-network-policies"][..],
        Kindnet => &["kindnet"][..],
        Flannel => &["flannel"][..],
        Aws => &["amazon-k8s-cni", "aws-network-policy-agent", "amazon/aws"][..],
        AzureNpm => &["azure-npm", "networkmonitor", "npm"][..],
        OvnKubernetes => &["ovn"][..],
    };
    let images_match = cs.is_empty()
        || cs.iter().any(|c| {
            let image = image_of(c).to_ascii_lowercase();
            // Container names count too: OpenShift pins images by digest
            // in one generic repository.
            family
                .iter()
                .any(|f| image.contains(f) || c.name.contains(f))
        });
    images_match.then_some(found)
}

// ---------------------------------------------------------------------------
// Judging one component.

struct Judged {
    component: Component,
    /// The CNI it was matched as (`None`: k3s's embedded controller).
    cni: Option<Cni>,
    /// The containers of its agent and helpers, for settings read later
    /// ([`tiers`]).
    containers: Vec<Container>,
    /// The parenthesis of the reason: the DaemonSet name, usually.
    label: String,
    /// Why it does not enforce, or why it cannot be told; a clause.
    why_not: Option<String>,
    /// "flannel alone does not ...": it has no policy engine at all.
    alone: bool,
    /// `off_fact` is a problem even when another component enforces: a
    /// setting that quietly turns enforcement off where no one would expect
    /// it (Cilium's audit mode), unlike, say, k3s's controller disabled
    /// because Calico does the job.
    always_a_problem: bool,
    /// The problem line that goes with `why_not`.
    off_fact: Option<String>,
    caveats: Vec<String>,
    problems: Vec<String>,
}

impl Judged {
    fn new(name: &str, label: &str, evidence: Vec<EvidenceItem>) -> Self {
        Judged {
            component: Component {
                name: name.to_string(),
                enforces: Some(true),
                detail: String::new(),
                version: None,
                evidence,
                cluster_apis: Vec::new(),
            },
            cni: None,
            containers: Vec::new(),
            label: label.to_string(),
            why_not: None,
            alone: false,
            always_a_problem: false,
            off_fact: None,
            caveats: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Marks the component as not enforcing: `why` completes the reason,
    /// `fact` is the problem line shown when nothing else enforces.
    fn off(&mut self, detail: &str, why: impl Into<String>, fact: String) {
        self.component.enforces = Some(false);
        self.component.detail = detail.to_string();
        self.why_not = Some(why.into());
        self.off_fact = Some(fact);
    }

    fn undecided(&mut self, detail: &str, why: &str) {
        self.component.enforces = None;
        self.component.detail = detail.to_string();
        self.why_not = Some(why.to_string());
    }

    fn caveat(&mut self, text: &str) {
        self.caveats.push(text.to_string());
    }
}

fn aux_only(cni: Cni, aux: &[&Unit]) -> Judged {
    let first = aux[0];
    let mut j = Judged::new(cni.name(), &first.name, Vec::new());
    j.cni = Some(cni);
    for a in aux {
        j.containers.extend(a.containers().iter().cloned());
        j.component.evidence.extend(a.evidence.iter().cloned());
        j.problems.extend(a.problems.iter().cloned());
    }
    let agent = cni.agent();
    j.undecided(
        &format!("{} found but no {agent} agent", first.name),
        &format!("its {agent} agent was not found"),
    );
    j.problems
        .push(format!("{}: no {agent} agent was found", first.subject()));
    j
}

fn judge(cni: Cni, u: &Unit, e: &Evidence, aux: &[&Unit]) -> Judged {
    let mut j = Judged::new(cni.name(), &u.name, u.evidence.clone());
    j.cni = Some(cni);
    j.containers = u
        .containers()
        .iter()
        .chain(aux.iter().flat_map(|a| a.containers()))
        .cloned()
        .collect();
    j.problems.extend(u.problems.iter().cloned());
    let cs = u.containers();
    let main = |pick: &dyn Fn(&Container) -> bool| cs.iter().find(|c| pick(c)).or(cs.first());
    match cni {
        Cni::GkeDataplaneV2 => {
            j.component.detail =
                "GKE Dataplane V2 (Cilium-based), policy enforcement built in".into();
            j.component.version =
                main(&|c| c.name == "cilium-agent").and_then(|c| image_tag(image_of(c)));
        }
        Cni::Canal => {
            let c = main(&is_calico_node);
            j.component.version = c.and_then(|c| image_tag(image_of(c)));
            j.component.detail = "Calico policy engine with flannel networking".into();
            calico_caveats(&mut j);
        }
        Cni::Calico => {
            let c = main(&is_calico_node);
            j.component.version = c.and_then(|c| image_tag(image_of(c)));
            let operator = u.namespace == "calico-system"
                || aux.iter().any(|a| {
                    a.name == "tigera-operator"
                        || a.containers()
                            .iter()
                            .any(|c| repo_is(image_of(c), "tigera/operator"))
                });
            let gke = c.is_some_and(|c| image_of(c).starts_with("gke.gcr.io/"));
            j.component.detail = if gke {
                "GKE network policy (Calico)"
            } else if operator {
                "operator install"
            } else {
                "manifest install"
            }
            .into();
            calico_caveats(&mut j);
        }
        Cni::Cilium => judge_cilium(&mut j, u, e),
        Cni::Antrea => {
            let c = main(&|c| c.name == "antrea-agent");
            j.component.version = c.and_then(|c| image_tag(image_of(c)));
            let controller = aux.iter().any(|a| a.name == "antrea-controller");
            if controller {
                j.component.detail = "antrea-agent with antrea-controller".into();
            } else {
                j.component.detail = "antrea-agent".into();
                if !e.pods.is_empty() {
                    j.caveat("No antrea-controller pod was found; Antrea agents get their computed policies from it.");
                }
            }
            j.caveat(&format!("Antrea-native policies (Antrea's own ClusterNetworkPolicy and NetworkPolicy, crd.antrea.io) also apply; {READS_ONLY}"));
            j.caveat("Antrea also implements AdminNetworkPolicy and BaselineAdminNetworkPolicy.");
        }
        Cni::Weave => {
            let c = main(&|c| c.name == "weave" || repo_is(image_of(c), "weave-kube"));
            j.component.version = c.and_then(|c| image_tag(image_of(c)));
            let npc = cs
                .iter()
                .any(|c| c.name == "weave-npc" || repo_is(image_of(c), "weave-npc"));
            if npc {
                j.component.detail = "weave-npc present".into();
                j.caveat("weave-npc predates endPort: port ranges in policies are not supported.");
            } else {
                j.off(
                    "no weave-npc container",
                    "its weave-npc policy controller is not running",
                    format!(
                        "{}: no weave-npc container, so policies are not enforced",
                        u.subject()
                    ),
                );
            }
            j.caveat("Weave Net is no longer maintained.");
        }
        Cni::KubeRouter => {
            let c = main(&|c| c.name == "kube-router" || repo_is(image_of(c), "kube-router"));
            j.component.version = c.and_then(|c| image_tag(image_of(c)));
            let args = c.map(cmdline).unwrap_or_default();
            // --run-firewall (the network policy controller) defaults to true.
            if bool_flag(&args, "run-firewall") == Some(false) {
                j.off(
                    "--run-firewall=false",
                    "it runs with --run-firewall=false, so its network policy controller is off",
                    format!(
                        "{}: --run-firewall=false turns off network policy enforcement",
                        u.subject()
                    ),
                );
            } else {
                j.component.detail = "network policy firewall on".into();
                j.caveat("kube-router does not support SCTP in NetworkPolicy ports.");
            }
        }
        Cni::KubeNetworkPolicies => {
            let c = main(&|c| repo_is(image_of(c), "kube-network-policies"));
            j.component.version = c.and_then(|c| image_tag(image_of(c)));
            j.component.detail = "standalone policy agent".into();
            j.caveat(NFQUEUE_CAVEAT);
        }
        Cni::Kindnet => judge_kindnet(&mut j, u),
        Cni::Flannel => {
            let c = main(&is_flannel);
            j.component.version = c.and_then(|c| image_tag(image_of(c)));
            j.alone = true;
            j.off(
                "no network policy support",
                "policies are accepted and ignored",
                format!(
                    "{}: flannel has no policy engine, and no other one was found",
                    u.subject()
                ),
            );
            j.caveat("flannel has no NetworkPolicy support: policies are accepted and ignored unless a policy engine (e.g. Calico in Canal) runs beside it.");
        }
        Cni::Aws => judge_aws(&mut j, u, e),
        Cni::AzureNpm => {
            let c = main(&|c| c.name == "azure-npm" || repo_is(image_of(c), "azure-npm"));
            j.component.version = c.and_then(|c| image_tag(image_of(c)));
            j.component.detail = "Azure Network Policy Manager".into();
        }
        Cni::OvnKubernetes => {
            let c = main(&|c| c.name == "ovnkube-controller" || c.name == "ovnkube-node");
            j.component.version = c.and_then(|c| image_tag(image_of(c)));
            j.component.detail = if u.namespace.starts_with("openshift-") {
                "OpenShift OVN-Kubernetes"
            } else {
                "ovnkube-node"
            }
            .into();
            j.caveat(
                "OVN-Kubernetes also implements AdminNetworkPolicy and BaselineAdminNetworkPolicy.",
            );
        }
    }
    j
}

/// What kubectl-netpol reads, for the caveats naming a CNI's own policy
/// kinds (which it does not).
const READS_ONLY: &str = "kubectl-netpol reads only Kubernetes NetworkPolicy (networking.k8s.io) and the cluster policy kinds of policy.networking.k8s.io (ClusterNetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy).";

const NFQUEUE_CAVEAT: &str = "Enforcement relies on the kernel's nfqueue support; on kernels without it (reported for WSL2) policies are not applied.";

fn calico_caveats(j: &mut Judged) {
    j.caveat(&format!(
        "Calico's own NetworkPolicy and GlobalNetworkPolicy resources also apply; {READS_ONLY}"
    ));
    match j.component.version.as_deref().and_then(major_minor) {
        Some((3, minor)) if minor < 29 => {
            j.caveat("AdminNetworkPolicy is not implemented by Calico before v3.29.")
        }
        Some(_) => {}
        None => j.caveat("Calico implements AdminNetworkPolicy only from v3.29 on."),
    }
}

fn judge_cilium(j: &mut Judged, u: &Unit, e: &Evidence) {
    let cs = u.containers();
    let agent = cs
        .iter()
        .find(|c| c.name == "cilium-agent" || repo_is(image_of(c), "cilium/cilium"))
        .or(cs.first());
    j.component.version = agent.and_then(|c| image_tag(image_of(c)));
    let args = agent.map(cmdline).unwrap_or_default();
    let config = e
        .configmaps
        .iter()
        .filter(|cm| cm.metadata.name.as_deref() == Some("cilium-config"))
        .min_by_key(|cm| cm.metadata.namespace.as_deref() != Some(u.namespace.as_str()));
    let data = config.and_then(|cm| cm.data.as_ref());
    let key = |k: &str| data.and_then(|d| d.get(k)).map(String::as_str);
    let enable_policy = str_flag(&args, "enable-policy").or(key("enable-policy"));
    let audit = bool_flag(&args, "policy-audit-mode")
        .or_else(|| key("policy-audit-mode").and_then(parse_bool))
        .unwrap_or(false);
    if let Some(cm) = config {
        j.component.evidence.push(EvidenceItem {
            kind: "ConfigMap".to_string(),
            namespace: cm.metadata.namespace.clone(),
            name: "cilium-config".to_string(),
            ready: None,
            images: Vec::new(),
        });
    }
    let cm_name = match config.and_then(|cm| cm.metadata.namespace.as_deref()) {
        Some(ns) => format!("configmap {ns}/cilium-config"),
        None => u.subject(),
    };
    if enable_policy == Some("never") {
        j.off(
            "enable-policy: never",
            "enable-policy is never",
            format!("{cm_name}: enable-policy is never, so no policy is enforced"),
        );
        j.always_a_problem = true;
    } else if audit {
        j.off(
            "policy audit mode",
            "policy audit mode only logs what policies would drop",
            format!(
                "{cm_name}: policy-audit-mode is true, so policy verdicts are logged, not enforced"
            ),
        );
        j.always_a_problem = true;
    } else {
        let mode = enable_policy.unwrap_or("default");
        j.component.detail = format!("enable-policy: {mode}");
        if mode == "always" {
            j.caveat("enable-policy is always: pods that no policy selects are denied all traffic too, unlike Kubernetes' default.");
        }
        if let Some(chain) = key("cni-chaining-mode").filter(|m| !m.is_empty() && *m != "none") {
            j.component
                .detail
                .push_str(&format!(", CNI chaining: {chain}"));
        }
        if config.is_none() {
            j.component.detail = "enable-policy not checked".into();
            j.caveat("The cilium-config ConfigMap was not available, so enable-policy and policy-audit-mode were not checked.");
        }
    }
    j.caveat(&format!(
        "CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy resources also apply; {READS_ONLY}"
    ));
    match j.component.version.as_deref().and_then(major_minor) {
        Some((1, minor)) if minor < 16 => j.caveat(
            "Cilium before v1.16 ignores endPort: a port range is enforced as its first port only.",
        ),
        Some(_) => {}
        None => j.caveat(
            "endPort (port ranges) is enforced from Cilium v1.16 on; older versions ignore it.",
        ),
    }
}

/// kind v0.24.0's release notes: "Out-of-the-box support for network
/// policy via sigs.k8s.io/kube-network-policies", built into kindnetd.
/// Taken to start with the kindnetd image tagged `v20240813-…` (the one
/// kind v0.24.0 ships; the tag itself is not checked against kind's
/// sources); earlier date-tagged
/// images do not enforce NetworkPolicy. The standalone kindnet
/// (`aojea/kindnetd`, semver tags) enforces from v1.3.0 on. Either way
/// `--network-policy=false` turns it off.
const KINDNET_POLICY_SINCE: u32 = 20240813;

fn judge_kindnet(j: &mut Judged, u: &Unit) {
    let cs = u.containers();
    let c = cs
        .iter()
        .find(|c| repo_is(image_of(c), "kindnetd"))
        .or(cs.first());
    let image = c.map(image_of).unwrap_or("");
    let tag = image_tag(image);
    j.component.version = tag.clone();
    let args = c.map(cmdline).unwrap_or_default();
    let date = tag.as_deref().and_then(|t| {
        let t = t.strip_prefix('v').unwrap_or(t);
        let d = t.split('-').next().unwrap_or(t);
        (d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()))
            .then(|| d.parse::<u32>().ok())
            .flatten()
    });
    let supported = match date {
        Some(d) => Some(d >= KINDNET_POLICY_SINCE),
        None if repo_is(image, "aojea/kindnetd") => {
            tag.as_deref().and_then(major_minor).map(|v| v >= (1, 3))
        }
        None => None,
    };
    match supported {
        Some(true) if bool_flag(&args, "network-policy") == Some(false) => j.off(
            "network policies disabled (--network-policy=false)",
            "it runs with --network-policy=false",
            format!(
                "{}: --network-policy=false turns off network policy enforcement",
                u.subject()
            ),
        ),
        Some(true) => {
            j.component.detail = "network policies enabled (kube-network-policies built in)".into();
            j.caveat(NFQUEUE_CAVEAT);
        }
        Some(false) => {
            let t = tag.as_deref().unwrap_or("?");
            j.off(
                "kindnetd version without network policy support",
                format!("kindnetd {t} predates its network policy support"),
                format!(
                    "{}: kindnetd {t} has no network policy support",
                    u.subject()
                ),
            );
        }
        None => j.undecided(
            "kindnetd version not recognized",
            "its kindnetd version could not be told from the image tag",
        ),
    }
}

fn judge_aws(j: &mut Judged, u: &Unit, e: &Evidence) {
    let cs = u.containers();
    let cni = cs
        .iter()
        .find(|c| c.name == "aws-node" || repo_is(image_of(c), "amazon-k8s-cni"))
        .or(cs.first());
    j.component.version = cni.and_then(|c| image_tag(image_of(c)));
    let agent = cs.iter().find(|c| {
        c.name == "aws-eks-nodeagent"
            || c.name == "aws-network-policy-agent"
            || repo_last(image_of(c)) == "aws-network-policy-agent"
    });
    let Some(agent) = agent else {
        j.alone = true;
        j.off(
            "no network policy agent",
            "its network policy agent is not installed",
            format!("{}: no network policy agent container", u.subject()),
        );
        j.caveat("The AWS VPC CNI enforces NetworkPolicy only with its network policy agent, run with --enable-network-policy=true (the EKS add-on's enableNetworkPolicy setting).");
        return;
    };
    if bool_flag(&cmdline(agent), "enable-network-policy") != Some(true) {
        j.off(
            "network policy agent present but disabled",
            "its network policy agent is present but disabled",
            format!(
                "{}: container {} runs without --enable-network-policy=true",
                u.subject(),
                agent.name
            ),
        );
        j.caveat("The AWS VPC CNI enforces NetworkPolicy only when its network policy agent runs with --enable-network-policy=true (the EKS add-on's enableNetworkPolicy setting).");
        return;
    }
    j.component.detail = "network policy agent enabled".into();
    if cni.and_then(|c| env_value(c, "NETWORK_POLICY_ENFORCING_MODE")) == Some("strict") {
        j.component.detail.push_str(", strict enforcing mode");
    }
    let controller = e.configmaps.iter().find(|cm| {
        cm.metadata.name.as_deref() == Some("amazon-vpc-cni")
            && cm.metadata.namespace.as_deref() == Some(u.namespace.as_str())
    });
    if let Some(cm) = controller {
        j.component.evidence.push(EvidenceItem {
            kind: "ConfigMap".to_string(),
            namespace: cm.metadata.namespace.clone(),
            name: "amazon-vpc-cni".to_string(),
            ready: None,
            images: Vec::new(),
        });
        let value = cm
            .data
            .as_ref()
            .and_then(|d| d.get("enable-network-policy-controller"))
            .map(String::as_str);
        if value.and_then(parse_bool) == Some(false) {
            j.caveat("ConfigMap amazon-vpc-cni has enable-network-policy-controller: false; on EKS the network policy controller must be enabled too for policies to reach the agents.");
        }
    }
}

fn judge_k3s(e: &Evidence) -> Option<Judged> {
    // By name: the live check and a manifest may hold them in any order.
    let mut nodes: Vec<&Node> = e
        .nodes
        .iter()
        .filter(|n| kubelet_version(n).contains("+k3s"))
        .collect();
    nodes.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let first = nodes.first()?;
    let args_of = |n: &Node| -> Vec<String> {
        let raw = n
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("k3s.io/node-args"))
            .map(String::as_str)
            .unwrap_or("");
        serde_json::from_str::<Vec<String>>(raw)
            .unwrap_or_else(|_| raw.split_whitespace().map(str::to_string).collect())
    };
    let disabled: Vec<&Node> = nodes
        .iter()
        .copied()
        .filter(|n| {
            let args = args_of(n);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            bool_flag(&args, "disable-network-policy") == Some(true)
        })
        .collect();
    let servers: Vec<&Node> = nodes
        .iter()
        .copied()
        .filter(|n| args_of(n).first().map(String::as_str) == Some("server"))
        .collect();
    let shown: Vec<&Node> = if !disabled.is_empty() {
        disabled.clone()
    } else if !servers.is_empty() {
        servers
    } else {
        vec![*first]
    };
    let evidence = shown
        .iter()
        .map(|n| EvidenceItem {
            kind: "Node".to_string(),
            namespace: None,
            name: n.metadata.name.clone().unwrap_or_default(),
            ready: None,
            images: Vec::new(),
        })
        .collect();
    let mut j = Judged::new("k3s", "embedded network policy controller", evidence);
    j.component.version = Some(kubelet_version(first).to_string());
    let no_flannel = nodes.iter().any(|n| {
        let args = args_of(n);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        str_flag(&args, "flannel-backend") == Some("none")
    });
    if let Some(n) = disabled.first() {
        j.off(
            "embedded network policy controller disabled (--disable-network-policy)",
            "k3s was started with --disable-network-policy",
            format!(
                "node {}: k3s runs with --disable-network-policy",
                n.metadata.name.as_deref().unwrap_or_default()
            ),
        );
    } else {
        j.component.detail = if no_flannel {
            "embedded network policy controller (kube-router); embedded flannel off"
        } else {
            "embedded network policy controller (kube-router) with embedded flannel"
        }
        .into();
        j.caveat("k3s's embedded controller is kube-router's, which does not support SCTP in NetworkPolicy ports.");
    }
    Some(j)
}

fn kubelet_version(n: &Node) -> &str {
    n.status
        .as_ref()
        .and_then(|s| s.node_info.as_ref())
        .map(|i| i.kubelet_version.as_str())
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(file: &str) -> Evidence {
        let path = format!("{}/tests/fixtures/cni/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let value: Value = serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
        evidence_from_values([value]).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    struct Case {
        file: &'static str,
        verdict: Verdict,
        /// The first component found (None: nothing found).
        component: Option<&'static str>,
        enforces: Option<bool>,
        detail: &'static str,
        version: Option<&'static str>,
        reason: &'static str,
        /// Substrings that some problem line must contain.
        problems: &'static [&'static str],
        /// Substrings that some caveat must contain.
        caveats: &'static [&'static str],
    }

    const CASES: &[Case] = &[
        Case {
            file: "calico-manifest.yaml",
            verdict: Verdict::Enforced,
            component: Some("Calico"),
            enforces: Some(true),
            detail: "manifest install",
            version: Some("v3.28.1"),
            reason: "Calico (calico-node) enforces NetworkPolicy.",
            problems: &[],
            caveats: &["GlobalNetworkPolicy", "before v3.29"],
        },
        Case {
            file: "calico-operator.yaml",
            verdict: Verdict::Enforced,
            component: Some("Calico"),
            enforces: Some(true),
            detail: "operator install",
            version: Some("v3.29.1"),
            reason: "Calico (calico-node) enforces NetworkPolicy.",
            problems: &[],
            caveats: &["GlobalNetworkPolicy"],
        },
        Case {
            file: "calico-not-ready.yaml",
            verdict: Verdict::Enforced,
            component: Some("Calico"),
            enforces: Some(true),
            detail: "manifest install",
            version: Some("v3.27.3"),
            reason: "Calico (calico-node) enforces NetworkPolicy.",
            problems: &[
                "daemonset kube-system/calico-node: 2 of 3 pods ready",
                "pod kube-system/calico-node-x2v9q: not ready (0/1 containers ready; calico-node: CrashLoopBackOff)",
            ],
            caveats: &[],
        },
        Case {
            file: "canal.yaml",
            verdict: Verdict::Enforced,
            component: Some("Canal"),
            enforces: Some(true),
            detail: "Calico policy engine with flannel networking",
            version: Some("v3.28.2"),
            reason: "Canal (canal) enforces NetworkPolicy.",
            problems: &[],
            caveats: &["GlobalNetworkPolicy"],
        },
        Case {
            file: "cilium-default.yaml",
            verdict: Verdict::Enforced,
            component: Some("Cilium"),
            enforces: Some(true),
            detail: "enable-policy: default",
            version: Some("v1.15.6"),
            reason: "Cilium (cilium) enforces NetworkPolicy.",
            problems: &[],
            caveats: &["before v1.16 ignores endPort", "CiliumNetworkPolicy"],
        },
        Case {
            file: "cilium-policy-never.yaml",
            verdict: Verdict::NotEnforced,
            component: Some("Cilium"),
            enforces: Some(false),
            detail: "enable-policy: never",
            version: Some("v1.16.3"),
            reason: "Cilium (cilium) does not enforce NetworkPolicy: enable-policy is never.",
            problems: &["configmap kube-system/cilium-config: enable-policy is never"],
            caveats: &[],
        },
        Case {
            file: "cilium-audit.yaml",
            verdict: Verdict::NotEnforced,
            component: Some("Cilium"),
            enforces: Some(false),
            detail: "policy audit mode",
            version: Some("v1.16.3"),
            reason: "Cilium (cilium) does not enforce NetworkPolicy: policy audit mode only logs what policies would drop.",
            problems: &["policy-audit-mode is true"],
            caveats: &[],
        },
        Case {
            file: "antrea.yaml",
            verdict: Verdict::Enforced,
            component: Some("Antrea"),
            enforces: Some(true),
            detail: "antrea-agent with antrea-controller",
            version: Some("v2.1.0"),
            reason: "Antrea (antrea-agent) enforces NetworkPolicy.",
            problems: &[],
            caveats: &["AdminNetworkPolicy"],
        },
        Case {
            file: "weave-npc.yaml",
            verdict: Verdict::Enforced,
            component: Some("Weave Net"),
            enforces: Some(true),
            detail: "weave-npc present",
            version: Some("2.8.1"),
            reason: "Weave Net (weave-net) enforces NetworkPolicy.",
            problems: &[],
            caveats: &["endPort", "no longer maintained"],
        },
        Case {
            file: "weave-no-npc.yaml",
            verdict: Verdict::NotEnforced,
            component: Some("Weave Net"),
            enforces: Some(false),
            detail: "no weave-npc container",
            version: Some("2.8.1"),
            reason: "Weave Net (weave-net) does not enforce NetworkPolicy: its weave-npc policy controller is not running.",
            problems: &["daemonset kube-system/weave-net: no weave-npc container"],
            caveats: &[],
        },
        Case {
            file: "kube-router.yaml",
            verdict: Verdict::Enforced,
            component: Some("kube-router"),
            enforces: Some(true),
            detail: "network policy firewall on",
            version: Some("v2.2.1"),
            reason: "kube-router (kube-router) enforces NetworkPolicy.",
            problems: &[],
            caveats: &["SCTP"],
        },
        Case {
            file: "kube-router-no-firewall.yaml",
            verdict: Verdict::NotEnforced,
            component: Some("kube-router"),
            enforces: Some(false),
            detail: "--run-firewall=false",
            version: Some("v2.2.1"),
            reason: "kube-router (kube-router) does not enforce NetworkPolicy: it runs with --run-firewall=false, so its network policy controller is off.",
            problems: &["daemonset kube-system/kube-router: --run-firewall=false"],
            caveats: &[],
        },
        Case {
            file: "kube-network-policies.yaml",
            verdict: Verdict::Enforced,
            component: Some("kube-network-policies"),
            enforces: Some(true),
            detail: "standalone policy agent",
            version: Some("v0.7.0"),
            reason: "kube-network-policies (kube-network-policies) enforces NetworkPolicy.",
            problems: &[],
            caveats: &["nfqueue"],
        },
        Case {
            file: "kindnet-new.yaml",
            verdict: Verdict::Enforced,
            component: Some("kindnet"),
            enforces: Some(true),
            detail: "network policies enabled",
            version: Some("v20241108-5c6d2daf"),
            reason: "kindnet (kindnet) enforces NetworkPolicy.",
            problems: &[],
            caveats: &["nfqueue"],
        },
        Case {
            file: "kindnet-old.yaml",
            verdict: Verdict::NotEnforced,
            component: Some("kindnet"),
            enforces: Some(false),
            detail: "kindnetd version without network policy support",
            version: Some("v20230511-dc714da8"),
            reason: "kindnet (kindnet) does not enforce NetworkPolicy: kindnetd v20230511-dc714da8 predates its network policy support.",
            problems: &[
                "daemonset kube-system/kindnet: kindnetd v20230511-dc714da8 has no network policy support",
            ],
            caveats: &[],
        },
        Case {
            file: "kindnet-netpol-off.yaml",
            verdict: Verdict::NotEnforced,
            component: Some("kindnet"),
            enforces: Some(false),
            detail: "network policies disabled (--network-policy=false)",
            version: Some("v20250214-acbabc1a"),
            reason: "kindnet (kindnet) does not enforce NetworkPolicy: it runs with --network-policy=false.",
            problems: &["--network-policy=false"],
            caveats: &[],
        },
        Case {
            file: "flannel.yaml",
            verdict: Verdict::NotEnforced,
            component: Some("flannel"),
            enforces: Some(false),
            detail: "no network policy support",
            version: Some("v0.26.1"),
            reason: "flannel alone does not enforce NetworkPolicy: policies are accepted and ignored.",
            problems: &["daemonset kube-flannel/kube-flannel-ds: flannel has no policy engine"],
            caveats: &["accepted and ignored"],
        },
        Case {
            file: "flannel-calico.yaml",
            verdict: Verdict::Enforced,
            component: Some("Calico"),
            enforces: Some(true),
            detail: "manifest install",
            version: Some("v3.28.1"),
            reason: "Calico (calico-node) enforces NetworkPolicy.",
            problems: &[],
            caveats: &["GlobalNetworkPolicy"],
        },
        Case {
            file: "aws-vpc-cni-no-agent.yaml",
            verdict: Verdict::NotEnforced,
            component: Some("AWS VPC CNI"),
            enforces: Some(false),
            detail: "no network policy agent",
            version: Some("v1.15.1-eksbuild.1"),
            reason: "AWS VPC CNI alone does not enforce NetworkPolicy: its network policy agent is not installed.",
            problems: &["daemonset kube-system/aws-node: no network policy agent container"],
            caveats: &["--enable-network-policy=true"],
        },
        Case {
            file: "aws-vpc-cni-agent-disabled.yaml",
            verdict: Verdict::NotEnforced,
            component: Some("AWS VPC CNI"),
            enforces: Some(false),
            detail: "network policy agent present but disabled",
            version: Some("v1.18.3-eksbuild.1"),
            reason: "AWS VPC CNI (aws-node) does not enforce NetworkPolicy: its network policy agent is present but disabled.",
            problems: &["container aws-eks-nodeagent runs without --enable-network-policy=true"],
            caveats: &["--enable-network-policy=true"],
        },
        Case {
            file: "aws-vpc-cni-agent-enabled.yaml",
            verdict: Verdict::Enforced,
            component: Some("AWS VPC CNI"),
            enforces: Some(true),
            detail: "network policy agent enabled",
            version: Some("v1.19.0-eksbuild.1"),
            reason: "AWS VPC CNI (aws-node) enforces NetworkPolicy.",
            problems: &[],
            caveats: &[],
        },
        Case {
            file: "azure-npm.yaml",
            verdict: Verdict::Enforced,
            component: Some("Azure NPM"),
            enforces: Some(true),
            detail: "Azure Network Policy Manager",
            version: Some("v1.5.45"),
            reason: "Azure NPM (azure-npm) enforces NetworkPolicy.",
            problems: &[],
            caveats: &[],
        },
        Case {
            file: "gke-dataplane-v2.yaml",
            verdict: Verdict::Enforced,
            component: Some("GKE Dataplane V2"),
            enforces: Some(true),
            detail: "GKE Dataplane V2",
            version: Some("v1.14.16-gke1300"),
            reason: "GKE Dataplane V2 (anetd) enforces NetworkPolicy.",
            problems: &[],
            caveats: &[],
        },
        Case {
            file: "ovn-kubernetes.yaml",
            verdict: Verdict::Enforced,
            component: Some("OVN-Kubernetes"),
            enforces: Some(true),
            detail: "OpenShift OVN-Kubernetes",
            version: None,
            reason: "OVN-Kubernetes (ovnkube-node) enforces NetworkPolicy.",
            problems: &[],
            caveats: &["AdminNetworkPolicy"],
        },
        Case {
            file: "k3s-default.yaml",
            verdict: Verdict::Enforced,
            component: Some("k3s"),
            enforces: Some(true),
            detail: "embedded network policy controller (kube-router) with embedded flannel",
            version: Some("v1.31.4+k3s1"),
            reason: "k3s (embedded network policy controller) enforces NetworkPolicy.",
            problems: &[],
            caveats: &["SCTP"],
        },
        Case {
            file: "k3s-disable-network-policy.yaml",
            verdict: Verdict::NotEnforced,
            component: Some("k3s"),
            enforces: Some(false),
            detail: "embedded network policy controller disabled (--disable-network-policy)",
            version: Some("v1.30.6+k3s1"),
            reason: "k3s (embedded network policy controller) does not enforce NetworkPolicy: k3s was started with --disable-network-policy.",
            problems: &["node k3s-server-0: k3s runs with --disable-network-policy"],
            caveats: &[],
        },
        Case {
            file: "nothing-found.yaml",
            verdict: Verdict::Unknown,
            component: None,
            enforces: None,
            detail: "",
            version: None,
            reason: "No known CNI was found in kube-system; enforcement cannot be told.",
            problems: &[],
            caveats: &[],
        },
        Case {
            file: "cilium-pods-only.yaml",
            verdict: Verdict::Enforced,
            component: Some("Cilium"),
            enforces: Some(true),
            detail: "enable-policy not checked",
            version: Some("1.14.10-1"),
            reason: "Cilium (cilium) enforces NetworkPolicy.",
            problems: &[
                "pod kube-system/cilium-4xq7d: not ready (0/1 containers ready; cilium-agent: CrashLoopBackOff)",
            ],
            caveats: &["cilium-config ConfigMap was not available"],
        },
    ];

    #[test]
    fn fixtures() {
        for case in CASES {
            let e = load(case.file);
            let a = assess(&e);
            let f = case.file;
            assert_eq!(a.verdict, case.verdict, "{f}: verdict; {a:#?}");
            assert_eq!(a.reason, case.reason, "{f}: reason");
            match case.component {
                None => assert!(a.found.is_empty(), "{f}: found {:#?}", a.found),
                Some(name) => {
                    let c = a
                        .found
                        .first()
                        .unwrap_or_else(|| panic!("{f}: nothing found"));
                    assert_eq!(c.name, name, "{f}: component");
                    assert_eq!(c.enforces, case.enforces, "{f}: enforces");
                    assert!(
                        c.detail.contains(case.detail),
                        "{f}: detail {:?} lacks {:?}",
                        c.detail,
                        case.detail
                    );
                    assert_eq!(c.version.as_deref(), case.version, "{f}: version");
                    assert!(!c.evidence.is_empty(), "{f}: no evidence");
                }
            }
            for p in case.problems {
                assert!(
                    a.problems.iter().any(|line| line.contains(p)),
                    "{f}: no problem with {p:?} in {:#?}",
                    a.problems
                );
            }
            if case.problems.is_empty() {
                assert!(
                    a.problems.is_empty(),
                    "{f}: unexpected problems {:#?}",
                    a.problems
                );
            }
            for c in case.caveats {
                assert!(
                    a.caveats.iter().any(|line| line.contains(c)),
                    "{f}: no caveat with {c:?} in {:#?}",
                    a.caveats
                );
            }
        }
    }

    #[test]
    fn flannel_with_calico_lists_both_and_keeps_flannel_quiet() {
        let a = assess(&load("flannel-calico.yaml"));
        let names: Vec<&str> = a.found.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Calico", "flannel"]);
        assert_eq!(a.found[1].enforces, Some(false));
        assert!(
            !a.caveats.iter().any(|c| c.contains("accepted and ignored")),
            "{:#?}",
            a.caveats
        );
    }

    fn merged(files: &[&str]) -> Evidence {
        let mut e = Evidence::default();
        for f in files {
            let one = load(f);
            e.pods.extend(one.pods);
            e.daemonsets.extend(one.daemonsets);
            e.configmaps.extend(one.configmaps);
            e.nodes.extend(one.nodes);
        }
        e
    }

    #[test]
    fn switched_off_engines_beside_an_enforcing_one_are_no_problem() {
        // k3s with --disable-network-policy is how Calico is meant to run on
        // k3s; the VPC CNI's disabled agent is the add-on default beside
        // Cilium in chaining mode.
        let a = assess(&merged(&[
            "k3s-disable-network-policy.yaml",
            "calico-operator.yaml",
        ]));
        assert_eq!(a.verdict, Verdict::Enforced);
        assert_eq!(a.reason, "Calico (calico-node) enforces NetworkPolicy.");
        assert_eq!(a.found.last().map(|c| c.enforces), Some(Some(false)));
        assert!(a.problems.is_empty(), "{:#?}", a.problems);

        let a = assess(&merged(&[
            "aws-vpc-cni-agent-disabled.yaml",
            "cilium-default.yaml",
        ]));
        assert_eq!(a.verdict, Verdict::Enforced);
        assert!(a.problems.is_empty(), "{:#?}", a.problems);
        assert!(
            !a.caveats
                .iter()
                .any(|c| c.contains("--enable-network-policy")),
            "{:#?}",
            a.caveats
        );
    }

    #[test]
    fn two_engines_get_a_caveat_and_cilium_audit_stays_a_problem() {
        let a = assess(&merged(&["k3s-default.yaml", "kube-network-policies.yaml"]));
        assert_eq!(a.verdict, Verdict::Enforced);
        assert!(
            a.caveats
                .iter()
                .any(|c| c.contains("(kube-network-policies, k3s)")),
            "{:#?}",
            a.caveats
        );

        let a = assess(&merged(&["cilium-audit.yaml", "calico-manifest.yaml"]));
        assert_eq!(a.verdict, Verdict::Enforced);
        assert!(
            a.problems
                .iter()
                .any(|p| p.contains("policy-audit-mode is true")),
            "{:#?}",
            a.problems
        );
    }

    #[test]
    fn several_components_none_enforcing() {
        let a = assess(&merged(&["flannel.yaml", "kindnet-old.yaml"]));
        assert_eq!(a.verdict, Verdict::NotEnforced);
        assert!(
            a.reason
                .starts_with("None of the CNI components found enforces NetworkPolicy (kindnet: "),
            "{}",
            a.reason
        );
        assert_eq!(a.problems.len(), 2, "{:#?}", a.problems);
    }

    #[test]
    fn operator_evidence_is_attached_to_calico() {
        let a = assess(&load("calico-operator.yaml"));
        assert_eq!(a.found.len(), 1, "{:#?}", a.found);
        let ev = &a.found[0].evidence;
        assert_eq!(ev[0].kind, "DaemonSet");
        assert_eq!(ev[0].namespace.as_deref(), Some("calico-system"));
        assert_eq!(ev[0].ready.as_deref(), Some("3/3"));
        assert!(
            ev.iter()
                .any(|i| i.kind == "Pod" && i.name.starts_with("tigera-operator-"))
        );
    }

    #[test]
    fn pods_only_dump_groups_pods_by_daemonset() {
        let a = assess(&load("cilium-pods-only.yaml"));
        let c = &a.found[0];
        let agents: Vec<&EvidenceItem> = c
            .evidence
            .iter()
            .filter(|i| i.name.starts_with("cilium-") && !i.name.starts_with("cilium-operator"))
            .collect();
        assert_eq!(agents.len(), 3, "{:#?}", c.evidence);
        assert!(agents.iter().all(|i| i.kind == "Pod"));
        assert_eq!(agents[0].ready.as_deref(), Some("1/1"));
        assert!(
            c.evidence
                .iter()
                .any(|i| i.name.starts_with("cilium-operator-"))
        );
    }

    #[test]
    fn a_cni_found_that_does_not_enforce_with_reads_refused_is_unknown_and_says_what_was_found() {
        let mut e = load("flannel.yaml");
        e.unreadable
            .push("configmaps in namespace \"kube-system\" (forbidden)".into());
        let a = assess(&e);
        assert_eq!(a.verdict, Verdict::Unknown);
        assert!(a.reason.starts_with("flannel found does not enforce NetworkPolicy, but not everything could be read (configmaps in namespace \"kube-system\" (forbidden))"), "{}", a.reason);
    }

    #[test]
    fn cilium_config_is_evidence() {
        let a = assess(&load("cilium-audit.yaml"));
        assert!(
            a.found[0]
                .evidence
                .iter()
                .any(|i| i.kind == "ConfigMap" && i.name == "cilium-config")
        );
    }

    #[test]
    fn unreadable_is_mentioned_when_nothing_found() {
        let mut e = load("nothing-found.yaml");
        e.unreadable
            .push("daemonsets in any namespace (forbidden)".to_string());
        let a = assess(&e);
        assert_eq!(a.verdict, Verdict::Unknown);
        assert_eq!(
            a.reason,
            "No known CNI was found in what could be read; enforcement cannot be told."
        );
        assert_eq!(a.unreadable, ["daemonsets in any namespace (forbidden)"]);
        assert!(a.caveats.iter().any(|c| c.contains("may have been missed")));
    }

    #[test]
    fn operator_without_agent_is_unknown() {
        let mut e = load("calico-operator.yaml");
        e.daemonsets.clear();
        e.pods
            .retain(|p| p.metadata.namespace.as_deref() == Some("tigera-operator"));
        let a = assess(&e);
        assert_eq!(a.verdict, Verdict::Unknown, "{a:#?}");
        assert_eq!(a.found[0].enforces, None);
        assert!(
            a.reason.starts_with("Calico (tigera-operator) was found"),
            "{}",
            a.reason
        );
    }

    #[test]
    fn unknown_kindnet_tag_is_unknown() {
        let mut e = load("kindnet-new.yaml");
        for ds in &mut e.daemonsets {
            for c in ds
                .spec
                .iter_mut()
                .flat_map(|s| s.template.spec.iter_mut())
                .flat_map(|s| s.containers.iter_mut())
            {
                c.image = Some("registry.example.com/kindnetd:custom".to_string());
            }
        }
        let a = assess(&e);
        assert_eq!(a.verdict, Verdict::Unknown, "{a:#?}");
        assert_eq!(a.found[0].enforces, None);
    }

    #[test]
    fn image_parts() {
        assert_eq!(
            image_tag("docker.io/calico/node:v3.28.1").as_deref(),
            Some("v3.28.1")
        );
        assert_eq!(
            image_tag("quay.io/cilium/cilium:v1.15.6@sha256:6aa840986a3a9722cd967ef63248d675a87add7e1704740902d5d3162f0c0def")
                .as_deref(),
            Some("v1.15.6")
        );
        assert_eq!(image_tag("quay.io/x/y@sha256:abc"), None);
        assert_eq!(image_tag("localhost:5000/calico/node"), None);
        assert_eq!(image_tag("nginx:latest"), None);
        assert_eq!(
            image_repo("localhost:5000/calico/node:v3"),
            "localhost:5000/calico/node"
        );
        assert!(repo_is("docker.io/calico/node:v3.28.1", "calico/node"));
        assert!(!repo_is(
            "docker.io/calico/node-windows:v3.28.1",
            "calico/node"
        ));
        assert!(!repo_is(
            "quay.io/cilium/cilium-envoy:v1.29",
            "cilium/cilium"
        ));
        assert_eq!(major_minor("1.14.10-1"), Some((1, 14)));
        assert_eq!(major_minor("v3.9"), Some((3, 9)));
    }

    #[test]
    fn flags() {
        let args = [
            "--run-router=true",
            "--run-firewall=false",
            "-network-policy",
        ];
        assert_eq!(bool_flag(&args, "run-firewall"), Some(false));
        assert_eq!(bool_flag(&args, "run-router"), Some(true));
        assert_eq!(bool_flag(&args, "network-policy"), Some(true));
        assert_eq!(bool_flag(&args, "run"), None);
        let args = [
            "server",
            "--flannel-backend",
            "none",
            "--enable-policy=never",
        ];
        assert_eq!(str_flag(&args, "flannel-backend"), Some("none"));
        assert_eq!(str_flag(&args, "enable-policy"), Some("never"));
    }

    #[test]
    fn typed_lists_and_foreign_kinds() {
        let v = serde_json::json!({
            "apiVersion": "v1",
            "kind": "PodList",
            "items": [{"metadata": {"name": "a", "namespace": "kube-system"}}],
        });
        let other =
            serde_json::json!({"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy"});
        let e = evidence_from_values([v, other, Value::Null]).expect("evidence");
        assert_eq!(e.pods.len(), 1);
        let bad = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": 3, "namespace": "kube-system"}});
        assert!(evidence_from_values([bad]).is_err());
        // As a live `check` reads them: pods of kube-system and the CNI
        // namespaces only.
        let pod = |ns: &str| serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": ns}});
        let e = evidence_from_values([pod("kube-system"), pod("calico-system"), pod("shop")])
            .expect("evidence");
        assert_eq!(e.pods.len(), 2);
    }

    #[test]
    fn gke_without_an_engine_is_not_enforced_only_when_all_was_read() {
        let node = serde_json::json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "n1", "labels": {"cloud.google.com/gke-nodepool": "p"}}});
        let dns = serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "coredns-1", "namespace": "kube-system"}});
        let mut e = evidence_from_values([node, dns]).expect("evidence");
        let a = assess(&e);
        assert_eq!(a.verdict, Verdict::NotEnforced, "{a:#?}");
        assert_eq!(a.platform.as_ref().map(|p| p.name.as_str()), Some("GKE"));
        e.unreadable
            .push("daemonsets in any namespace (forbidden)".to_string());
        assert_eq!(assess(&e).verdict, Verdict::Unknown);
    }

    #[test]
    fn node_order_does_not_change_the_answer() {
        // The live check lists control-plane nodes first, a manifest holds
        // them as written: the same nodes give the same assessment.
        for file in ["k3s-default.yaml", "k3s-disable-network-policy.yaml"] {
            let mut e = load(file);
            // Mid-upgrade: the nodes' kubelets differ.
            for (i, n) in e.nodes.iter_mut().enumerate() {
                if let Some(info) = n.status.as_mut().and_then(|s| s.node_info.as_mut()) {
                    info.kubelet_version = format!("v1.31.{i}+k3s1");
                }
            }
            assert!(e.nodes.len() > 1, "{file}");
            let mut reversed = e.clone();
            reversed.nodes.reverse();
            let json = |e: &Evidence| serde_json::to_value(assess(e)).expect("json");
            assert_eq!(json(&e), json(&reversed), "{file}");
        }
    }

    #[test]
    fn serializes_camel_and_kebab_case() {
        let a = assess(&load("cilium-audit.yaml"));
        let v = serde_json::to_value(&a).expect("json");
        assert_eq!(v["verdict"], "not-enforced");
        assert!(v["found"][0]["evidence"][0].get("namespace").is_some());
    }
}
