//! Which cluster-scoped policy APIs the CNI found implements: the one
//! table of known implementations ([`TABLE`]) and what the components'
//! versions, images and settings tell of it. Pure, like the rest of
//! [`crate::cni`].
//!
//! Sources (as of 2026-04): network-policy-api's list of implementations,
//! and the projects' own release notes and install manifests. What is not
//! known is said as unknown (`None`), never guessed: a "yes" needs the
//! version or setting that enables it, and a component that enforces
//! NetworkPolicy.

use k8s_openapi::api::core::v1::Container;
use serde::Serialize;

use super::{Cni, Component, bool_flag, cmdline, env_value, major_minor, parse_bool};

/// One of the cluster-scoped policy APIs of `policy.networking.k8s.io`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterApi {
    /// `ClusterNetworkPolicy` (v1alpha2, v1beta1).
    ClusterNetworkPolicy,
    /// `AdminNetworkPolicy` (v1alpha1).
    AdminNetworkPolicy,
    /// `BaselineAdminNetworkPolicy` (v1alpha1).
    BaselineAdminNetworkPolicy,
}

impl ClusterApi {
    /// Every API, in the order `check` lists them.
    pub const ALL: [ClusterApi; 3] = [
        ClusterApi::ClusterNetworkPolicy,
        ClusterApi::AdminNetworkPolicy,
        ClusterApi::BaselineAdminNetworkPolicy,
    ];

    /// The kind, as the API names it.
    pub fn kind(self) -> &'static str {
        match self {
            ClusterApi::ClusterNetworkPolicy => "ClusterNetworkPolicy",
            ClusterApi::AdminNetworkPolicy => "AdminNetworkPolicy",
            ClusterApi::BaselineAdminNetworkPolicy => "BaselineAdminNetworkPolicy",
        }
    }

    /// The API of `text`, a kind or `Kind (group/version)` as
    /// `clusterPolicyApis` lists them.
    pub fn of(text: &str) -> Option<ClusterApi> {
        let kind = text.split(' ').next().unwrap_or_default();
        ClusterApi::ALL.into_iter().find(|a| a.kind() == kind)
    }
}

/// What is known of one CNI and one API.
#[derive(Debug, Clone, Copy)]
enum Known {
    /// Implemented by the releases from `from` (major, minor) on, up to
    /// but not including `until`.
    Releases {
        from: (u64, u64),
        until: Option<(u64, u64)>,
        /// What the API was replaced with, when `until` is set.
        replaced_by: &'static str,
    },
    /// Not implemented, with why.
    No(&'static str),
    /// Antrea: from `from` on, behind an alpha feature gate of the
    /// antrea-controller's configuration (off by default), not read here.
    FeatureGate {
        from: (u64, u64),
        gate: &'static str,
    },
    /// OVN-Kubernetes: when `enable-admin-network-policy` is on (a flag,
    /// or the env its scripts read).
    OvnFlag,
    /// kube-network-policies: per image variant (`-npa-v1alpha1`,
    /// `-npa-v1alpha2`) or, in older releases, per flag.
    KubeNetworkPolicies,
}

/// The known implementations. A CNI and API pair that is not here is
/// unknown ("not known to implement it").
const TABLE: &[(Cni, ClusterApi, Known)] = {
    use ClusterApi::*;
    use Known::*;
    const CILIUM: Known = No("Cilium does not implement it");
    const FLANNEL: Known = No("flannel has no policy engine");
    const WEAVE: Known = No("Weave Net predates it and is no longer developed");
    const CALICO_CNP: Known = Releases {
        from: (3, 32),
        until: None,
        replaced_by: "",
    };
    const CALICO_ANP: Known = Releases {
        from: (3, 29),
        until: Some((3, 32)),
        replaced_by: "ClusterNetworkPolicy",
    };
    const CALICO_BANP: Known = Releases {
        from: (3, 30),
        until: Some((3, 32)),
        replaced_by: "ClusterNetworkPolicy",
    };
    const ANTREA: Known = FeatureGate {
        from: (1, 13),
        gate: "AdminNetworkPolicy",
    };
    &[
        (Cni::Calico, ClusterNetworkPolicy, CALICO_CNP),
        (Cni::Calico, AdminNetworkPolicy, CALICO_ANP),
        (Cni::Calico, BaselineAdminNetworkPolicy, CALICO_BANP),
        (Cni::Canal, ClusterNetworkPolicy, CALICO_CNP),
        (Cni::Canal, AdminNetworkPolicy, CALICO_ANP),
        (Cni::Canal, BaselineAdminNetworkPolicy, CALICO_BANP),
        (Cni::Cilium, ClusterNetworkPolicy, CILIUM),
        (Cni::Cilium, AdminNetworkPolicy, CILIUM),
        (Cni::Cilium, BaselineAdminNetworkPolicy, CILIUM),
        (Cni::Flannel, ClusterNetworkPolicy, FLANNEL),
        (Cni::Flannel, AdminNetworkPolicy, FLANNEL),
        (Cni::Flannel, BaselineAdminNetworkPolicy, FLANNEL),
        (Cni::Weave, ClusterNetworkPolicy, WEAVE),
        (Cni::Weave, AdminNetworkPolicy, WEAVE),
        (Cni::Weave, BaselineAdminNetworkPolicy, WEAVE),
        (Cni::Antrea, AdminNetworkPolicy, ANTREA),
        (Cni::Antrea, BaselineAdminNetworkPolicy, ANTREA),
        (Cni::OvnKubernetes, AdminNetworkPolicy, OvnFlag),
        (Cni::OvnKubernetes, BaselineAdminNetworkPolicy, OvnFlag),
        (
            Cni::KubeNetworkPolicies,
            ClusterNetworkPolicy,
            KubeNetworkPolicies,
        ),
        (
            Cni::KubeNetworkPolicies,
            AdminNetworkPolicy,
            KubeNetworkPolicies,
        ),
        (
            Cni::KubeNetworkPolicies,
            BaselineAdminNetworkPolicy,
            KubeNetworkPolicies,
        ),
    ]
};

/// Whether one component implements one API, with why.
#[derive(Debug, Clone, Serialize)]
pub struct Implementation {
    /// The API's kind.
    #[serde(skip)]
    pub api: &'static str,
    /// The component's name (`Calico`, ...).
    pub component: String,
    /// True, false, or null when it cannot be told.
    pub implements: Option<bool>,
    /// One clause: `Calico v3.32.1 implements it (from v3.32)`.
    pub reason: String,
}

/// `v3.29` for a (major, minor).
fn release((major, minor): (u64, u64)) -> String {
    format!("v{major}.{minor}")
}

/// What `component` (of `cni`, run by `containers`) implements of each
/// API, from [`TABLE`].
pub(super) fn implementations(
    cni: Option<Cni>,
    component: &Component,
    containers: &[&Container],
) -> Vec<Implementation> {
    ClusterApi::ALL
        .into_iter()
        .map(|api| one(cni, api, component, containers))
        .collect()
}

fn one(
    cni: Option<Cni>,
    api: ClusterApi,
    component: &Component,
    containers: &[&Container],
) -> Implementation {
    let name = component.name.as_str();
    let version = component.version.as_deref();
    let named = match version {
        Some(v) => format!("{name} {v}"),
        None => name.to_string(),
    };
    let known = cni.and_then(|cni| {
        TABLE
            .iter()
            .find(|(c, a, _)| *c == cni && *a == api)
            .map(|(_, _, k)| *k)
    });
    let (implements, reason) = match known {
        None => (None, format!("{name} is not known to implement it")),
        Some(Known::No(why)) => (Some(false), why.to_string()),
        Some(Known::Releases {
            from,
            until,
            replaced_by,
        }) => {
            let span = match until {
                Some(u) => format!("{} to v{}.{}", release(from), u.0, u.1.saturating_sub(1)),
                None => format!("from {}", release(from)),
            };
            match version.and_then(major_minor) {
                None => (
                    None,
                    format!("{name} implements it {span}; its version could not be read"),
                ),
                Some(v) if v < from => (
                    Some(false),
                    format!("{named} predates it (implemented {span})"),
                ),
                Some(v) if until.is_some_and(|u| v >= u) => (
                    Some(false),
                    format!(
                        "{named} no longer implements it (implemented {span}, then replaced by {replaced_by})"
                    ),
                ),
                Some(_) => (
                    Some(true),
                    format!("{named} implements it (releases {span})"),
                ),
            }
        }
        Some(Known::FeatureGate { from, gate }) => match version.and_then(major_minor) {
            Some(v) if v < from => (
                Some(false),
                format!("{named} predates it (implemented from {})", release(from)),
            ),
            _ => (
                None,
                format!(
                    "{name} implements it from {} behind its {gate} feature gate (alpha, off by default) in the antrea-config ConfigMap, which is not read",
                    release(from)
                ),
            ),
        },
        Some(Known::OvnFlag) => {
            let flag = containers
                .iter()
                .find_map(|c| bool_flag(&cmdline(c), "enable-admin-network-policy"))
                .or_else(|| {
                    containers.iter().find_map(|c| {
                        env_value(c, "OVN_ADMIN_NETWORK_POLICY_ENABLE").and_then(parse_bool)
                    })
                });
            match flag {
                Some(true) => (
                    Some(true),
                    format!("{named} runs with enable-admin-network-policy on"),
                ),
                Some(false) => (
                    Some(false),
                    format!("{named} runs with enable-admin-network-policy off"),
                ),
                None => (
                    None,
                    format!(
                        "{name} implements it when enable-admin-network-policy is on (OpenShift turns it on), which its pods do not show"
                    ),
                ),
            }
        }
        Some(Known::KubeNetworkPolicies) => kube_network_policies(api, &named, version, containers),
    };
    // A "yes" needs a component that enforces policies at all.
    let (implements, reason) = match (implements, component.enforces) {
        (Some(true), Some(true)) | (Some(false), _) | (None, _) => (implements, reason),
        (Some(true), Some(false)) => (
            None,
            format!("{reason}, but it does not enforce NetworkPolicy here"),
        ),
        (Some(true), None) => (
            None,
            format!("{reason}, but whether it enforces policies at all cannot be told"),
        ),
    };
    Implementation {
        api: api.kind(),
        component: name.to_string(),
        implements,
        reason,
    }
}

/// kube-network-policies: its `-npa-v1alpha2` image implements
/// ClusterNetworkPolicy, its `-npa-v1alpha1` image the v1alpha1 pair;
/// older releases turned the v1alpha1 pair on with flags.
fn kube_network_policies(
    api: ClusterApi,
    named: &str,
    version: Option<&str>,
    containers: &[&Container],
) -> (Option<bool>, String) {
    let variant = version.and_then(|v| {
        ["npa-v1alpha2", "npa-v1alpha1"]
            .into_iter()
            .find(|s| v.ends_with(&format!("-{s}")))
    });
    let wanted = match api {
        ClusterApi::ClusterNetworkPolicy => "npa-v1alpha2",
        _ => "npa-v1alpha1",
    };
    if let Some(variant) = variant {
        return if variant == wanted {
            (
                Some(true),
                format!("{named} (its {variant} image) implements it"),
            )
        } else {
            (
                Some(false),
                format!(
                    "{named} is its {variant} image, which does not implement it (its {wanted} image does)"
                ),
            )
        };
    }
    let flag = match api {
        ClusterApi::ClusterNetworkPolicy => None,
        ClusterApi::AdminNetworkPolicy => Some("admin-network-policy"),
        ClusterApi::BaselineAdminNetworkPolicy => Some("baseline-admin-network-policy"),
    };
    match flag.and_then(|f| containers.iter().find_map(|c| bool_flag(&cmdline(c), f))) {
        Some(true) => (
            Some(true),
            format!("{named} runs with --{} on", flag.unwrap_or_default()),
        ),
        Some(false) => (
            Some(false),
            format!("{named} runs with --{} off", flag.unwrap_or_default()),
        ),
        None => (
            None,
            format!(
                "kube-network-policies implements it in its {wanted} image{}; which image or setting this one has cannot be told",
                if flag.is_some() {
                    " (older releases: with --admin-network-policy / --baseline-admin-network-policy)"
                } else {
                    ""
                }
            ),
        ),
    }
}

/// Whether the cluster's CNI implements one served API: `implemented` is
/// true when a component found implements it, false when components were
/// found and none does, null otherwise (none found, or some cannot be
/// told).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiSupport {
    /// As `clusterPolicyApis` names it: `Kind (group/version)`.
    pub api: String,
    pub implemented: Option<bool>,
    /// Per component found, in `found`'s order.
    pub by: Vec<Implementation>,
}

/// For each API in `served` (`Kind (group/version)`), whether the
/// components found implement it.
pub fn support(found: &[Component], served: &[String]) -> Vec<ApiSupport> {
    served
        .iter()
        .map(|api| {
            let kind = ClusterApi::of(api).map(ClusterApi::kind);
            // Several components of one CNI (agents found as pods of no
            // DaemonSet, one per pod) say the same: once.
            let mut by: Vec<Implementation> = Vec::new();
            for i in found
                .iter()
                .flat_map(|c| c.cluster_apis.iter())
                .filter(|i| Some(i.api) == kind)
            {
                if !by.iter().any(|b| {
                    b.component == i.component
                        && b.implements == i.implements
                        && b.reason == i.reason
                }) {
                    by.push(i.clone());
                }
            }
            let implemented = if by.iter().any(|i| i.implements == Some(true)) {
                Some(true)
            } else if !by.is_empty() && by.iter().all(|i| i.implements == Some(false)) {
                Some(false)
            } else {
                None
            };
            ApiSupport {
                api: api.clone(),
                implemented,
                by,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cni::{assess, evidence_from_values};

    /// A ready DaemonSet in kube-system running one container.
    fn daemonset(
        name: &str,
        container: &str,
        image: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> serde_json::Value {
        serde_json::json!({
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": name, "namespace": "kube-system"},
            "spec": {"selector": {}, "template": {"spec": {"containers": [{
                "name": container, "image": image, "args": args,
                "env": env.iter().map(|(n, v)| serde_json::json!({"name": n, "value": v})).collect::<Vec<_>>(),
            }]}}},
            "status": {"desiredNumberScheduled": 1, "numberReady": 1},
        })
    }

    /// `(api kind, implements)` for each API, as `check` would say for a
    /// cluster serving all three.
    fn answers(objects: Vec<serde_json::Value>) -> Vec<(String, Option<bool>, String)> {
        let e = evidence_from_values(objects).unwrap();
        let a = assess(&e);
        let served: Vec<String> = ClusterApi::ALL
            .iter()
            .map(|k| format!("{} (policy.networking.k8s.io/v1)", k.kind()))
            .collect();
        support(&a.found, &served)
            .into_iter()
            .map(|s| {
                let why =
                    s.by.iter()
                        .map(|i| i.reason.clone())
                        .collect::<Vec<_>>()
                        .join("; ");
                (
                    ClusterApi::of(&s.api).unwrap().kind().to_string(),
                    s.implemented,
                    why,
                )
            })
            .collect()
    }

    fn implemented(objects: Vec<serde_json::Value>) -> [Option<bool>; 3] {
        let a = answers(objects);
        [a[0].1, a[1].1, a[2].1]
    }

    fn fixture(file: &str) -> Vec<serde_json::Value> {
        let path = format!("{}/tests/fixtures/cni/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        vec![serde_yaml_ng::from_str(&text).unwrap()]
    }

    #[test]
    fn calico_by_release() {
        let calico = |v: &str| {
            vec![daemonset(
                "calico-node",
                "calico-node",
                &format!("docker.io/calico/node:{v}"),
                &[],
                &[],
            )]
        };
        // [ClusterNetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy]
        assert_eq!(
            implemented(calico("v3.28.1")),
            [Some(false), Some(false), Some(false)]
        );
        assert_eq!(
            implemented(calico("v3.29.1")),
            [Some(false), Some(true), Some(false)]
        );
        assert_eq!(
            implemented(calico("v3.31.5")),
            [Some(false), Some(true), Some(true)]
        );
        assert_eq!(
            implemented(calico("v3.32.1")),
            [Some(true), Some(false), Some(false)]
        );
        let a = answers(calico("v3.32.1"));
        assert_eq!(
            a[1].2,
            "Calico v3.32.1 no longer implements it (implemented v3.29 to v3.31, then replaced by ClusterNetworkPolicy)"
        );
        assert_eq!(a[0].2, "Calico v3.32.1 implements it (releases from v3.32)");
        // The fixtures' installs (manifest v3.28.1, operator v3.29.1).
        assert_eq!(
            implemented(fixture("calico-manifest.yaml")),
            [Some(false), Some(false), Some(false)]
        );
        assert_eq!(implemented(fixture("calico-operator.yaml"))[1], Some(true));
        // Without a version: unknown, never guessed.
        let a = answers(vec![daemonset(
            "calico-node",
            "calico-node",
            "docker.io/calico/node",
            &[],
            &[],
        )]);
        assert_eq!(a[0].1, None);
        assert!(a[0].2.contains("its version could not be read"), "{a:?}");
    }

    #[test]
    fn cilium_and_flannel_do_not_antrea_and_unlisted_are_unknown() {
        assert_eq!(
            implemented(fixture("cilium-default.yaml")),
            [Some(false); 3]
        );
        assert_eq!(implemented(fixture("flannel.yaml")), [Some(false); 3]);
        // Antrea: behind a feature gate that is not read.
        let a = answers(fixture("antrea.yaml"));
        assert_eq!([a[0].1, a[1].1, a[2].1], [None, None, None]);
        assert!(a[1].2.contains("AdminNetworkPolicy feature gate"), "{a:?}");
        assert!(a[0].2.contains("not known to implement it"), "{a:?}");
        // Nothing found: unknown, with no component to name.
        let a = answers(fixture("nothing-found.yaml"));
        assert_eq!([a[0].1, a[1].1, a[2].1], [None, None, None]);
    }

    #[test]
    fn components_saying_the_same_are_named_once() {
        // Two Cilium agents found as pods of no DaemonSet: two components,
        // one reason each, said once.
        let pod = |name: &str| {
            serde_json::json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
                "spec": {"containers": [{"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.16.0"}]},
                "status": {"phase": "Running", "containerStatuses": [{"name": "cilium-agent", "ready": true, "image": "x", "imageID": "y", "restartCount": 0}]},
            })
        };
        let e = evidence_from_values(vec![pod("cilium-a"), pod("cilium-b")]).unwrap();
        let a = assess(&e);
        assert_eq!(a.found.len(), 2, "{:?}", a.found);
        let s = support(
            &a.found,
            &["ClusterNetworkPolicy (policy.networking.k8s.io/v1beta1)".to_string()],
        );
        assert_eq!(s[0].implemented, Some(false));
        assert_eq!(s[0].by.len(), 1, "{:?}", s[0].by);
        assert_eq!(s[0].by[0].reason, "Cilium does not implement it");
        assert_eq!(
            answers(vec![pod("cilium-a"), pod("cilium-b")])[0].2,
            "Cilium does not implement it"
        );
        // The caveat on Cilium's own kinds says what this tool reads now.
        let caveat = a
            .caveats
            .iter()
            .find(|c| c.starts_with("CiliumNetworkPolicy"))
            .unwrap();
        assert!(
            caveat.ends_with("reads only Kubernetes NetworkPolicy (networking.k8s.io) and the cluster policy kinds of policy.networking.k8s.io (ClusterNetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy)."),
            "{caveat}"
        );
    }

    #[test]
    fn ovn_kubernetes_by_its_setting() {
        let ovn = |args: &[&str], env: &[(&str, &str)]| {
            vec![daemonset(
                "ovnkube-node",
                "ovnkube-controller",
                "ghcr.io/ovn-kubernetes/ovn-kubernetes/ovn-kube-ubuntu:v1.1.0",
                args,
                env,
            )]
        };
        assert_eq!(
            implemented(ovn(&["--enable-admin-network-policy"], &[])),
            [None, Some(true), Some(true)]
        );
        assert_eq!(
            implemented(ovn(&[], &[("OVN_ADMIN_NETWORK_POLICY_ENABLE", "false")])),
            [None, Some(false), Some(false)]
        );
        assert_eq!(implemented(ovn(&[], &[])), [None, None, None]);
    }

    #[test]
    fn kube_network_policies_by_image_variant_or_flag() {
        let knp = |tag: &str, args: &[&str]| {
            vec![daemonset(
                "kube-network-policies",
                "kube-network-policies",
                &format!("registry.k8s.io/networking/kube-network-policies:{tag}"),
                args,
                &[],
            )]
        };
        assert_eq!(
            implemented(knp("v1.0.0-npa-v1alpha2", &[])),
            [Some(true), Some(false), Some(false)]
        );
        assert_eq!(
            implemented(knp("v1.0.0-npa-v1alpha1", &[])),
            [Some(false), Some(true), Some(true)]
        );
        assert_eq!(
            implemented(knp(
                "v0.2.0",
                &[
                    "-admin-network-policy=true",
                    "-baseline-admin-network-policy=true"
                ]
            )),
            [None, Some(true), Some(true)]
        );
        assert_eq!(implemented(knp("v1.1.0", &[])), [None, None, None]);
    }
}
