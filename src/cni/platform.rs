//! The platform a cluster runs on, told from its Nodes: a managed service
//! (EKS, GKE, AKS), a distribution (k3s, RKE2, OpenShift) or a local
//! cluster (kind, minikube). `check` says it, and uses it where the
//! platform changes the verdict or its caveats (see [`super::assess`]).
//! Pure: the same Node objects give the same answer live and offline.
//!
//! What each platform is told by (marks the platform itself sets):
//!
//! - kind: `spec.providerID` `kind://...` (kind's kubeadm config passes
//!   `provider-id: kind://{provider}/{cluster}/{node}` to every kubelet),
//!   else, on a node without providerID, images of `docker.io/kindest/`
//!   (kindnetd, local-path-provisioner) among its `status.images`, which
//!   the kindest/node image preloads (the sign names the image: kindnetd
//!   deployed elsewhere would show it too).
//! - EKS: labels `eks.amazonaws.com/*` (managed node groups), a kubelet
//!   version with `-eks-` (the EKS node images' builds, e.g.
//!   `v1.30.4-eks-a737599`).
//! - GKE: labels `cloud.google.com/gke-*` (`gke-nodepool`,
//!   `gke-os-distribution`, ...), a kubelet version with `-gke.`.
//! - AKS: labels `kubernetes.azure.com/*` (`cluster`, `agentpool`, ...).
//! - k3s: a kubelet version with `+k3s`; RKE2: `+rke2`.
//! - minikube: labels `minikube.k8s.io/*` (`name`, `version`, ...).
//! - OpenShift: the label `node.openshift.io/os_id` (`rhcos`, `rhel`, ...).
//! - A cloud without its managed service's marks (self-managed nodes):
//!   `spec.providerID` `aws://`, `gce://` or `azure://`.
//!
//! A node with several marks counts as the most specific one (k3s on EC2 is
//! k3s, not AWS); nodes that disagree give the first platform of
//! [`PlatformKind::ALL`] any of them shows.

use k8s_openapi::api::core::v1::Node;

/// A platform `check` recognises, in order of precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlatformKind {
    K3s,
    Rke2,
    OpenShift,
    Minikube,
    Kind,
    Eks,
    Gke,
    Aks,
    Aws,
    Gce,
    Azure,
}

impl PlatformKind {
    /// Also the precedence when nodes disagree.
    pub const ALL: [PlatformKind; 11] = [
        PlatformKind::K3s,
        PlatformKind::Rke2,
        PlatformKind::OpenShift,
        PlatformKind::Minikube,
        PlatformKind::Kind,
        PlatformKind::Eks,
        PlatformKind::Gke,
        PlatformKind::Aks,
        PlatformKind::Aws,
        PlatformKind::Gce,
        PlatformKind::Azure,
    ];

    /// The name `check` prints and `-o json` gives as `platform.name`.
    pub fn name(self) -> &'static str {
        match self {
            PlatformKind::K3s => "k3s",
            PlatformKind::Rke2 => "RKE2",
            PlatformKind::OpenShift => "OpenShift",
            PlatformKind::Minikube => "minikube",
            PlatformKind::Kind => "kind",
            PlatformKind::Eks => "EKS",
            PlatformKind::Gke => "GKE",
            PlatformKind::Aks => "AKS",
            PlatformKind::Aws => "AWS",
            PlatformKind::Gce => "Google Compute Engine",
            PlatformKind::Azure => "Azure",
        }
    }
}

/// The platform the cluster runs on, and the node that tells it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Platform {
    /// "kind", "EKS", "GKE", "AKS", "k3s", "RKE2", "minikube", "OpenShift",
    /// or a cloud without its managed service ("AWS", "Google Compute
    /// Engine", "Azure").
    pub name: String,
    /// The first node (by name) that shows it.
    pub node: String,
    /// What on that node shows it, e.g. `label eks.amazonaws.com/nodegroup`
    /// or `providerID kind://docker/kind/kind-control-plane`.
    pub sign: String,
    #[serde(skip)]
    pub kind: PlatformKind,
}

/// The platform `nodes` show, if any.
pub fn detect(nodes: &[Node]) -> Option<Platform> {
    let mut seen: Vec<(PlatformKind, String, String)> = nodes
        .iter()
        .filter_map(|n| {
            let (kind, sign) = of_node(n)?;
            Some((kind, n.metadata.name.clone().unwrap_or_default(), sign))
        })
        .collect();
    seen.sort_by(|a, b| a.1.cmp(&b.1));
    PlatformKind::ALL.iter().find_map(|&k| {
        seen.iter()
            .find(|(kind, _, _)| *kind == k)
            .map(|(kind, node, sign)| Platform {
                name: kind.name().to_string(),
                node: node.clone(),
                sign: sign.clone(),
                kind: *kind,
            })
    })
}

/// The platform one node shows, and how.
fn of_node(n: &Node) -> Option<(PlatformKind, String)> {
    let kubelet = n
        .status
        .as_ref()
        .and_then(|s| s.node_info.as_ref())
        .map(|i| i.kubelet_version.as_str())
        .unwrap_or("");
    let provider = n
        .spec
        .as_ref()
        .and_then(|s| s.provider_id.as_deref())
        .unwrap_or("");
    let label = |prefix: &str| -> Option<String> {
        n.metadata
            .labels
            .iter()
            .flatten()
            .map(|(k, _)| k)
            .find(|k| k.starts_with(prefix))
            .map(|k| format!("label {k}"))
    };
    let kubelet_sign = |mark: &str| kubelet.contains(mark).then(|| format!("kubelet {kubelet}"));
    let provider_sign = |scheme: &str| {
        provider
            .starts_with(scheme)
            .then(|| format!("providerID {provider}"))
    };
    let kindest = || {
        if !provider.is_empty() {
            return None;
        }
        n.status
            .as_ref()
            .and_then(|s| s.images.as_ref())
            .into_iter()
            .flatten()
            .flat_map(|i| i.names.iter().flatten())
            .find(|name| name.starts_with("docker.io/kindest/"))
            .map(|name| format!("image {name}"))
    };
    let checks: [(PlatformKind, Option<String>); 11] = [
        (PlatformKind::K3s, kubelet_sign("+k3s")),
        (PlatformKind::Rke2, kubelet_sign("+rke2")),
        (PlatformKind::OpenShift, label("node.openshift.io/os_id")),
        (PlatformKind::Minikube, label("minikube.k8s.io/")),
        (
            PlatformKind::Kind,
            provider_sign("kind://").or_else(kindest),
        ),
        (
            PlatformKind::Eks,
            label("eks.amazonaws.com/").or_else(|| kubelet_sign("-eks-")),
        ),
        (
            PlatformKind::Gke,
            label("cloud.google.com/gke-").or_else(|| kubelet_sign("-gke.")),
        ),
        (PlatformKind::Aks, label("kubernetes.azure.com/")),
        (PlatformKind::Aws, provider_sign("aws://")),
        (PlatformKind::Gce, provider_sign("gce://")),
        (PlatformKind::Azure, provider_sign("azure://")),
    ];
    checks
        .into_iter()
        .find_map(|(kind, sign)| sign.map(|s| (kind, s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, labels: &[&str], provider: &str, kubelet: &str) -> Node {
        let labels: serde_json::Map<String, serde_json::Value> = labels
            .iter()
            .map(|k| (k.to_string(), serde_json::Value::String("x".into())))
            .collect();
        let v = serde_json::json!({
            "metadata": {"name": name, "labels": labels},
            "spec": {"providerID": provider},
            "status": {"nodeInfo": {"architecture": "", "bootID": "", "containerRuntimeVersion": "",
                "kernelVersion": "", "kubeProxyVersion": "", "kubeletVersion": kubelet,
                "machineID": "", "operatingSystem": "", "osImage": "", "systemUUID": ""}},
        });
        serde_json::from_value(v).expect("node")
    }

    #[test]
    fn each_platform_from_its_own_marks() {
        let cases = [
            (
                node("n", &[], "kind://docker/kind/kind-worker", "v1.31.0"),
                "kind",
            ),
            (
                node(
                    "n",
                    &["eks.amazonaws.com/nodegroup"],
                    "aws:///us-east-1a/i-0",
                    "v1.30.4-eks-a737599",
                ),
                "EKS",
            ),
            (node("n", &[], "", "v1.30.4-eks-a737599"), "EKS"),
            (node("n", &[], "aws:///us-east-1a/i-0", "v1.30.4"), "AWS"),
            (
                node(
                    "n",
                    &["cloud.google.com/gke-nodepool"],
                    "gce://p/z/i",
                    "v1.30.5-gke.1014001",
                ),
                "GKE",
            ),
            (
                node("n", &[], "gce://p/z/i", "v1.30.5"),
                "Google Compute Engine",
            ),
            (
                node(
                    "n",
                    &["kubernetes.azure.com/cluster"],
                    "azure:///subscriptions/s",
                    "v1.30.3",
                ),
                "AKS",
            ),
            (
                node("n", &[], "azure:///subscriptions/s", "v1.30.3"),
                "Azure",
            ),
            (
                node("n", &[], "aws:///us-east-1a/i-0", "v1.31.4+k3s1"),
                "k3s",
            ),
            (node("n", &[], "", "v1.31.4+rke2r1"), "RKE2"),
            (
                node("n", &["minikube.k8s.io/name"], "", "v1.31.0"),
                "minikube",
            ),
            (
                node("n", &["node.openshift.io/os_id"], "", "v1.29.8+f10c92d"),
                "OpenShift",
            ),
        ];
        for (n, want) in cases {
            let p = detect(std::slice::from_ref(&n));
            assert_eq!(p.map(|p| p.name), Some(want.to_string()), "{n:?}");
        }
        assert_eq!(detect(&[node("n", &["app"], "", "v1.31.0")]), None);
        // kind before providerIDs: the images its node image preloads.
        let mut n = node("n", &[], "", "v1.27.3");
        if let Some(status) = n.status.as_mut() {
            status.images = Some(vec![k8s_openapi::api::core::v1::ContainerImage {
                names: Some(vec![
                    "docker.io/kindest/kindnetd:v20230511-dc714da8".to_string(),
                ]),
                size_bytes: None,
            }]);
        }
        let p = detect(&[n]).expect("kind");
        assert_eq!(
            (p.name.as_str(), p.sign.as_str()),
            (
                "kind",
                "image docker.io/kindest/kindnetd:v20230511-dc714da8"
            )
        );
        assert_eq!(detect(&[]), None);
    }

    #[test]
    fn the_first_node_by_name_tells_and_precedence_decides() {
        let p = detect(&[
            node("b", &["cloud.google.com/gke-nodepool"], "", ""),
            node("a", &["cloud.google.com/gke-os-distribution"], "", ""),
            node("c", &[], "", ""),
        ])
        .expect("platform");
        assert_eq!(
            (p.name.as_str(), p.node.as_str(), p.sign.as_str()),
            ("GKE", "a", "label cloud.google.com/gke-os-distribution")
        );
        let p = detect(&[
            node("a", &[], "gce://p/z/i", ""),
            node("b", &[], "", "v1.31.4+k3s1"),
        ])
        .expect("platform");
        assert_eq!(p.name, "k3s");
    }
}
