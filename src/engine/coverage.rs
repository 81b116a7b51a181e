//! What is left unprotected: per namespace, which pods no policy isolates
//! for ingress or egress, whether a default deny exists per direction, and
//! which policies select each pod.

use serde::Serialize;

use crate::engine::Model;
use crate::engine::policy::Direction;
use crate::snapshot::PodInfo;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Coverage {
    pub namespaces: Vec<NamespaceCoverage>,
    pub total: Totals,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    pub pods: usize,
    pub ingress_isolated: usize,
    pub egress_isolated: usize,
    /// With cluster policies only (see [`NamespaceCoverage::ingress_protected`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingress_protected: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub egress_protected: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceCoverage {
    pub namespace: String,
    pub pods: usize,
    pub ingress_isolated: usize,
    pub egress_isolated: usize,
    /// Present when the input has cluster policies: the pods protected in
    /// that direction by any tier, i.e. isolated by a NetworkPolicy or the
    /// subject (for certain) of an Admin or Baseline policy with a Deny
    /// rule in that direction (Accept and Pass alone restrict nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingress_protected: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub egress_protected: Option<usize>,
    /// Policies that select every pod of the namespace for ingress and
    /// admit nothing: a default deny.
    pub default_deny_ingress: Vec<String>,
    pub default_deny_egress: Vec<String>,
    /// Pods no NetworkPolicy isolates for ingress (`namespace/name`).
    pub not_isolated_ingress: Vec<String>,
    pub not_isolated_egress: Vec<String>,
    /// Present when the input has cluster policies: the pods (not on the
    /// host network) that no tier protects for certain in that direction,
    /// i.e. not counted in [`NamespaceCoverage::ingress_protected`]. A pod
    /// an Admin or Baseline policy protects is not among them even when no
    /// NetworkPolicy isolates it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_protected_ingress: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_protected_egress: Option<Vec<String>>,
    /// Host-network pods (`namespace/name`): no NetworkPolicy can isolate
    /// them (they are their node's address), so they are listed here
    /// rather than among the pods a policy could still isolate.
    pub host_network: Vec<String>,
    /// Every pod with the policies that select it.
    pub pod_policies: Vec<PodPolicies>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PodPolicies {
    pub pod: String,
    pub ingress: Vec<String>,
    pub egress: Vec<String>,
    /// The cluster policies whose subject selects the pod and that have
    /// rules in that direction, in evaluation order, as `Admin NAME
    /// (priority N)` / `Baseline NAME`; `... (may select)` when whether the
    /// subject selects it cannot be told (a namespace's labels not read).
    /// Left out when empty.
    #[serde(rename = "clusterIngress", skip_serializing_if = "Vec::is_empty")]
    pub cluster_ingress: Vec<String>,
    #[serde(rename = "clusterEgress", skip_serializing_if = "Vec::is_empty")]
    pub cluster_egress: Vec<String>,
}

/// How a cluster policy that may select a pod (unknown) is marked.
pub const MAY_SELECT: &str = " (may select)";

/// Coverage of the namespaces in `scope` (all when `None`).
pub fn coverage(model: &Model<'_>, scope: Option<&str>) -> Coverage {
    coverage_of(model, scope, None)
}

/// [`coverage`] of the pods `pick` keeps (`-l`): namespaces without such
/// a pod are left out; default denies are still the namespace's.
pub fn coverage_of(
    model: &Model<'_>,
    scope: Option<&str>,
    pick: Option<&dyn Fn(&PodInfo) -> bool>,
) -> Coverage {
    let mut namespaces = Vec::new();
    let mut total = Totals::default();
    // Cluster policies by evaluation order: Admin by priority, then
    // Baseline (the BaselineAdminNetworkPolicy, without priority, last).
    let tiers = !model.cluster_policies.is_empty();
    let mut ordered: Vec<&crate::engine::tier::ClusterPolicy> =
        model.cluster_policies.iter().collect();
    ordered.sort_by_key(|p| {
        (
            matches!(p.tier, crate::engine::tier::Tier::Baseline),
            p.priority.is_none(),
            p.priority,
        )
    });
    let cluster = |d: Direction, pod: &PodInfo| -> Vec<String> {
        ordered
            .iter()
            .filter(|p| !p.rules(d).is_empty())
            .filter_map(|p| {
                match crate::engine::tier::eval::subject_matches(model, &p.subject, pod) {
                    Some(true) => Some(p.label()),
                    None => Some(format!("{}{MAY_SELECT}", p.label())),
                    Some(false) => None,
                }
            })
            .collect()
    };
    for ns in &model.snapshot.namespaces {
        if scope.is_some_and(|s| s != ns.name) {
            continue;
        }
        let mut pods: Vec<&PodInfo> = model.pods_in(&ns.name).to_vec();
        if let Some(pick) = pick {
            pods.retain(|p| pick(p));
        }
        let deny = |d: Direction| -> Vec<String> {
            model
                .policies_in(&ns.name)
                .iter()
                .map(|&i| &model.policies[i])
                .filter(|p| {
                    p.pod_selector.is_everything() && p.rules(d).is_some_and(<[_]>::is_empty)
                })
                .map(|p| p.name.clone())
                .collect()
        };
        let mut c = NamespaceCoverage {
            namespace: ns.name.clone(),
            pods: pods.len(),
            ingress_isolated: 0,
            egress_isolated: 0,
            ingress_protected: tiers.then_some(0),
            egress_protected: tiers.then_some(0),
            default_deny_ingress: deny(Direction::Ingress),
            default_deny_egress: deny(Direction::Egress),
            not_isolated_ingress: Vec::new(),
            not_isolated_egress: Vec::new(),
            not_protected_ingress: tiers.then(Vec::new),
            not_protected_egress: tiers.then(Vec::new),
            host_network: Vec::new(),
            pod_policies: Vec::new(),
        };
        if pods.is_empty() && (pick.is_some() || model.policies_in(&ns.name).is_empty()) {
            continue;
        }
        for pod in pods {
            let names = |d: Direction| -> Vec<String> {
                model
                    .isolating(pod, d)
                    .into_iter()
                    .map(|i| model.policies[i].name.clone())
                    .collect()
            };
            let (ingress, egress) = (names(Direction::Ingress), names(Direction::Egress));
            if pod.on_host_network() {
                c.host_network.push(pod.key());
            } else if ingress.is_empty() {
                c.not_isolated_ingress.push(pod.key());
            } else {
                c.ingress_isolated += 1;
            }
            if pod.on_host_network() {
            } else if egress.is_empty() {
                c.not_isolated_egress.push(pod.key());
            } else {
                c.egress_isolated += 1;
            }
            let (cluster_ingress, cluster_egress) = (
                cluster(Direction::Ingress, pod),
                cluster(Direction::Egress, pod),
            );
            if !pod.on_host_network() {
                // A cluster policy protects the pod when it selects it for
                // certain with a Deny rule in that direction: Accept and
                // Pass alone restrict nothing.
                let denying = |d: Direction| {
                    ordered.iter().any(|p| {
                        p.rules(d)
                            .iter()
                            .any(|r| r.action == crate::engine::tier::Action::Deny)
                            && crate::engine::tier::eval::subject_matches(model, &p.subject, pod)
                                == Some(true)
                    })
                };
                let protected_in = !ingress.is_empty() || denying(Direction::Ingress);
                let protected_out = !egress.is_empty() || denying(Direction::Egress);
                if let Some(n) = c.ingress_protected.as_mut() {
                    *n += usize::from(protected_in);
                }
                if let Some(n) = c.egress_protected.as_mut() {
                    *n += usize::from(protected_out);
                }
                if let Some(list) = c.not_protected_ingress.as_mut().filter(|_| !protected_in) {
                    list.push(pod.key());
                }
                if let Some(list) = c.not_protected_egress.as_mut().filter(|_| !protected_out) {
                    list.push(pod.key());
                }
            }
            c.pod_policies.push(PodPolicies {
                pod: pod.key(),
                ingress,
                egress,
                cluster_ingress,
                cluster_egress,
            });
        }
        total.pods += c.pods;
        total.ingress_isolated += c.ingress_isolated;
        total.egress_isolated += c.egress_isolated;
        if tiers {
            *total.ingress_protected.get_or_insert(0) += c.ingress_protected.unwrap_or(0);
            *total.egress_protected.get_or_insert(0) += c.egress_protected.unwrap_or(0);
        }
        namespaces.push(c);
    }
    Coverage { namespaces, total }
}
