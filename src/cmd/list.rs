//! `kubectl netpol list`: every policy, the pods it selects now, and its
//! one-line summary.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cli::{ListArgs, OutputFormat};
use crate::cmd::lint::render_finding;
use crate::cmd::{Context, Need, Outcome, Plan};
use crate::engine::Model;
use crate::engine::lint::{ClusterScope, Finding, LintOptions, depends_on_cni, lint};
use crate::engine::summary::summary;
use crate::error::{Error, exit};
use crate::render::{clean, table_with, to_json, to_yaml};

#[derive(Debug, Serialize)]
pub struct ListReport {
    pub policies: Vec<PolicyRow>,
    /// Cluster-scoped policies (ClusterNetworkPolicy, AdminNetworkPolicy,
    /// BaselineAdminNetworkPolicy), in evaluation order: Admin by
    /// priority, then Baseline. Absent when there is none.
    #[serde(rename = "clusterPolicies", skip_serializing_if = "Vec::is_empty")]
    pub cluster_policies: Vec<ClusterPolicyRow>,
    /// Whether the cluster policies could be read (an absent
    /// `clusterPolicies` is then "none", not "unread").
    #[serde(flatten)]
    pub cluster_policies_read: crate::snapshot::ClusterPoliciesRead,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterPolicyRow {
    pub kind: String,
    pub api_version: String,
    pub name: String,
    /// `Admin` or `Baseline`; null for an invalid policy whose tier
    /// cannot be read.
    pub tier: Option<&'static str>,
    /// Null for a BaselineAdminNetworkPolicy and an invalid policy.
    pub priority: Option<u32>,
    /// Pods its subject selects now; null for an invalid policy and for a
    /// subject whose selector no implementation can convert.
    pub pods: Option<usize>,
    pub selected_pods: Vec<String>,
    pub summary: Option<String>,
    pub valid: bool,
    pub errors: Vec<String>,
}

/// The rows of the cluster-scoped policies `wanted` (by their labels),
/// valid ones in evaluation order, then the invalid ones.
fn cluster_rows(model: &Model<'_>, wanted: &dyn Fn(&str, &str) -> bool) -> Vec<ClusterPolicyRow> {
    let mut valid: Vec<&crate::engine::tier::ClusterPolicy> = model
        .cluster_policies
        .iter()
        .filter(|p| wanted(&p.kind, &p.name))
        .collect();
    valid.sort_by_key(|p| {
        (
            p.tier,
            p.priority.unwrap_or(u32::MAX),
            p.kind.clone(),
            p.name.clone(),
        )
    });
    let mut rows: Vec<ClusterPolicyRow> = valid
        .into_iter()
        .map(|p| {
            let selected: Vec<String> = model
                .snapshot
                .pods
                .iter()
                .filter(|pod| {
                    crate::engine::tier::eval::subject_matches(model, &p.subject, pod) == Some(true)
                })
                .map(|pod| pod.key())
                .collect();
            // A subject no implementation can convert selects what is
            // not known: no count.
            let known = !matches!(p.subject, crate::engine::tier::Subject::Unusable(_));
            ClusterPolicyRow {
                kind: p.kind.clone(),
                api_version: p.api_version.clone(),
                name: p.name.clone(),
                tier: Some(p.tier.as_str()),
                priority: p.priority,
                pods: known.then_some(selected.len()),
                selected_pods: selected,
                summary: Some(crate::cmd::tiers::summary(p)),
                valid: true,
                errors: Vec::new(),
            }
        })
        .collect();
    for bad in &model.cluster_invalid {
        if !wanted(&bad.kind, &bad.name) {
            continue;
        }
        rows.push(ClusterPolicyRow {
            kind: bad.kind.clone(),
            api_version: bad.api_version.clone(),
            name: bad.name.clone(),
            tier: bad.tier.map(|t| t.as_str()),
            priority: None,
            pods: None,
            selected_pods: Vec::new(),
            summary: None,
            valid: false,
            errors: bad.errors.iter().map(ToString::to_string).collect(),
        });
    }
    rows
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRow {
    pub namespace: String,
    pub name: String,
    /// Pods selected now; null for an invalid policy.
    pub pods: Option<usize>,
    pub selected_pods: Vec<String>,
    /// Effective policyTypes.
    pub policy_types: Vec<&'static str>,
    pub summary: Option<String>,
    pub valid: bool,
    pub errors: Vec<String>,
    /// Lint findings about this policy (see `kubectl netpol lint`).
    pub findings: Vec<Finding>,
    /// The podSelector in kubectl's syntax (`-o wide`); `None` for an
    /// invalid policy.
    #[serde(skip)]
    pub pod_selector: Option<String>,
    /// Rules per direction (`-o wide`); `None` when the direction is not
    /// in the effective policyTypes.
    #[serde(skip)]
    pub rule_counts: [Option<usize>; 2],
}

pub fn run(ctx: &Context, _args: &ListArgs) -> Result<Outcome, Error> {
    // The Services (and what lint reads beyond the scope) serve the
    // findings shown under the table.
    // `-o name` prints names only: no findings, no enforcement caveat, so
    // neither the Services nor the CNI evidence are read.
    let (snapshot, enforcement) = if ctx.format() == OutputFormat::Name {
        let s = ctx.snapshot(Plan::Scope {
            workloads: false,
            namespaces: Need::IfReadable,
            services: false,
        })?;
        (s, Vec::new())
    } else {
        ctx.snapshot_with_warning(Plan::Scope {
            workloads: false,
            namespaces: Need::IfReadable,
            services: true,
        })?
    };
    let model = Model::new(&snapshot, &ctx.default_namespace());
    // -l: the policies' own labels, as `kubectl get networkpolicy -l`.
    let chosen: Option<std::collections::HashSet<(String, String)>> = ctx.selector()?.map(|sel| {
        snapshot
            .policies
            .iter()
            .filter(|np| {
                np.metadata
                    .labels
                    .as_ref()
                    .map_or_else(|| sel.matches(&Default::default()), |l| sel.matches(l))
            })
            .map(|np| {
                (
                    np.metadata.namespace.clone().unwrap_or_default(),
                    np.metadata.name.clone().unwrap_or_default(),
                )
            })
            .collect()
    });
    let wanted = |ns: &str, name: &str| {
        chosen
            .as_ref()
            .is_none_or(|set| set.contains(&(ns.to_string(), name.to_string())))
    };
    let mut rows = rows(&model, &|ns| ctx.in_scope(ns));
    // Findings whose message depends on the CNI: read what `check` reads,
    // once, and lint again knowing it.
    // (`-o name` shows no findings: nothing to reword.)
    if ctx.format() != OutputFormat::Name && rows.iter().any(|r| depends_on_cni(&r.findings)) {
        let opts = LintOptions {
            cni: crate::cmd::lint::cni_facts(ctx),
            ..LintOptions::default()
        };
        rows = rows_with(&model, &|ns| ctx.in_scope(ns), &opts);
    }
    rows.retain(|r| wanted(&r.namespace, &r.name));
    let mut warnings: Vec<String> = enforcement;
    warnings.extend(snapshot.gaps.cluster_policy_warning());
    for bad in &model.invalid {
        let (ns, name) = bad.key.split_once('/').unwrap_or(("", &bad.key));
        if !ctx.in_scope(ns) || !wanted(ns, name) {
            continue;
        }
        warnings.push(format!(
            "warning: NetworkPolicy {:?} is invalid and is left out of every answer: {}",
            bad.key,
            bad.errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        ));
        rows.push(PolicyRow {
            namespace: ns.to_string(),
            name: name.to_string(),
            pods: None,
            selected_pods: Vec::new(),
            policy_types: Vec::new(),
            summary: None,
            valid: false,
            errors: bad.errors.iter().map(ToString::to_string).collect(),
            findings: Vec::new(),
            pod_selector: None,
            rule_counts: [None, None],
        });
    }
    rows.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    // Cluster-scoped: listed whatever the namespace scope; -l on their own
    // labels.
    let labels_of = |kind: &str, name: &str| -> bool {
        let Some(sel) = ctx.selector().ok().flatten() else {
            return true;
        };
        let labels: crate::snapshot::Labels = snapshot
            .cluster_policies
            .iter()
            .find(|o| o.kind == kind && o.name == name)
            .and_then(|o| o.value.pointer("/metadata/labels"))
            .and_then(|l| serde_json::from_value(l.clone()).ok())
            .unwrap_or_default();
        sel.matches(&labels)
    };
    let cluster = cluster_rows(&model, &labels_of);
    for bad in cluster.iter().filter(|r| !r.valid) {
        warnings.push(format!(
            "warning: {} {:?} is invalid (the API server would reject it): answers it may change are undecided: {}",
            bad.kind,
            bad.name,
            bad.errors.join("; ")
        ));
    }
    let code = if rows.iter().all(|r| r.valid) && cluster.iter().all(|r| r.valid) {
        exit::OK
    } else {
        exit::ERROR
    };
    let report = ListReport {
        policies: rows,
        cluster_policies: cluster,
        cluster_policies_read: snapshot.gaps.cluster_policies_read(),
    };
    let stdout = match ctx.format() {
        OutputFormat::Json => to_json(&report),
        OutputFormat::Yaml => to_yaml(&report),
        OutputFormat::Text | OutputFormat::Wide | OutputFormat::Name => {
            if report.policies.is_empty() && report.cluster_policies.is_empty() {
                warnings.push(match ctx.scope() {
                    Some(ns) => format!("No resources found in {ns} namespace."),
                    None => "No resources found".to_string(),
                });
                String::new()
            } else if ctx.format() == OutputFormat::Name {
                render_names(&report)
            } else {
                render_text(ctx, &report)
            }
        }
    };
    Ok(Outcome {
        stdout,
        warnings,
        code,
    })
}

/// The rows of the valid policies in scope: what each selects now, its
/// summary and its lint findings (the invalid ones are added by `run`).
pub fn rows(model: &Model<'_>, in_scope: &dyn Fn(&str) -> bool) -> Vec<PolicyRow> {
    rows_with(model, in_scope, &LintOptions::default())
}

/// [`rows`] with the lint options given (e.g. the cluster's CNI).
pub fn rows_with(
    model: &Model<'_>,
    in_scope: &dyn Fn(&str) -> bool,
    opts: &LintOptions,
) -> Vec<PolicyRow> {
    let mut findings: BTreeMap<String, Vec<Finding>> = BTreeMap::new();
    // Invalid policies have their own INVALID rows.
    for f in lint(
        model,
        opts,
        &|p| in_scope(&p.namespace),
        &|_, _| false,
        ClusterScope::Nothing,
    ) {
        findings.entry(f.object.clone()).or_default().push(f);
    }
    let mut rows: Vec<PolicyRow> = Vec::new();
    for p in &model.policies {
        if !in_scope(&p.namespace) {
            continue;
        }
        let selected: Vec<String> = model.selected_pods(p).iter().map(|p| p.key()).collect();
        let mut types = Vec::new();
        if p.ingress.is_some() {
            types.push("Ingress");
        }
        if p.egress.is_some() {
            types.push("Egress");
        }
        rows.push(PolicyRow {
            namespace: p.namespace.clone(),
            name: p.name.clone(),
            pods: Some(selected.len()),
            selected_pods: selected,
            policy_types: types,
            summary: Some(summary(p)),
            valid: true,
            errors: Vec::new(),
            findings: findings.remove(&p.key()).unwrap_or_default(),
            pod_selector: Some(p.pod_selector.render()),
            rule_counts: [
                p.ingress.as_ref().map(Vec::len),
                p.egress.as_ref().map(Vec::len),
            ],
        });
    }
    rows
}

/// `-o name`: one `networkpolicy.networking.k8s.io/NAME` per line, as
/// `kubectl get networkpolicy -o name` (without the namespace, as kubectl).
fn render_names(report: &ListReport) -> String {
    let mut out: String = report
        .policies
        .iter()
        .map(|r| format!("networkpolicy.networking.k8s.io/{}\n", clean(&r.name)))
        .collect();
    for r in &report.cluster_policies {
        out.push_str(&format!(
            "{}.policy.networking.k8s.io/{}\n",
            r.kind.to_lowercase(),
            clean(&r.name)
        ));
    }
    out
}

/// The cluster-scoped policies' table: TIER and PRIORITY first, in
/// evaluation order.
fn render_cluster_text(ctx: &Context, report: &ListReport) -> String {
    let p = ctx.palette;
    let rows: Vec<Vec<String>> = report
        .cluster_policies
        .iter()
        .map(|r| {
            vec![
                r.tier.unwrap_or("-").to_string(),
                r.priority.map_or("-".to_string(), |n| n.to_string()),
                r.kind.clone(),
                clean(&r.name),
                r.pods.map_or("-".to_string(), |n| n.to_string()),
                match &r.summary {
                    Some(s) => clean(s),
                    None => p.bad(&format!(
                        "INVALID: {}",
                        clean(r.errors.first().map_or("", String::as_str))
                    )),
                },
            ]
        })
        .collect();
    table_with(
        &["TIER", "PRIORITY", "KIND", "NAME", "PODS", "SUMMARY"],
        &rows,
        !ctx.no_headers(),
    )
}

fn render_text(ctx: &Context, report: &ListReport) -> String {
    let cluster = if report.cluster_policies.is_empty() {
        String::new()
    } else {
        render_cluster_text(ctx, report)
    };
    if report.policies.is_empty() {
        return cluster;
    }
    render_policies_text(ctx, report, &cluster)
}

/// The NetworkPolicies' table, then `cluster` (the cluster policies'
/// table), then the findings.
fn render_policies_text(ctx: &Context, report: &ListReport, cluster: &str) -> String {
    let all = ctx.scope().is_none();
    let wide = ctx.format() == OutputFormat::Wide;
    let p = ctx.palette;
    let rows: Vec<Vec<String>> = report
        .policies
        .iter()
        .map(|r| {
            let mut row = Vec::new();
            if all {
                row.push(clean(&r.namespace));
            }
            row.push(clean(&r.name));
            row.push(r.pods.map_or("-".to_string(), |n| n.to_string()));
            if wide {
                row.push(if r.valid {
                    r.policy_types.join(",")
                } else {
                    "-".to_string()
                });
                for n in r.rule_counts {
                    row.push(n.map_or("-".to_string(), |n| n.to_string()));
                }
                row.push(match r.pod_selector.as_deref() {
                    None => "-".to_string(),
                    Some("") => "<none>".to_string(),
                    Some(s) => clean(s),
                });
            }
            row.push(match &r.summary {
                Some(s) => clean(s),
                None => p.bad(&format!(
                    "INVALID: {}",
                    clean(r.errors.first().map_or("", String::as_str))
                )),
            });
            row
        })
        .collect();
    let mut headers: Vec<&str> = Vec::new();
    if all {
        headers.push("NAMESPACE");
    }
    headers.extend(["NAME", "PODS"]);
    if wide {
        headers.extend([
            "POLICY-TYPES",
            "INGRESS-RULES",
            "EGRESS-RULES",
            "POD-SELECTOR",
        ]);
    }
    headers.push("SUMMARY");
    let mut out = table_with(&headers, &rows, !ctx.no_headers());
    if !cluster.is_empty() {
        if !ctx.no_headers() {
            out.push('\n');
        }
        out.push_str(cluster);
    }
    // --no-headers: the rows alone, for scripts.
    if ctx.no_headers() {
        return out;
    }
    let findings: Vec<&Finding> = report
        .policies
        .iter()
        .flat_map(|r| r.findings.iter())
        .collect();
    if !findings.is_empty() {
        out.push_str(&format!(
            "\nFindings ({}; `kubectl netpol lint` shows the fixes):\n",
            findings.len()
        ));
        for f in findings {
            let line = render_finding(f, p);
            out.push_str(&format!("  {}\n", line.lines().next().unwrap_or_default()));
        }
    }
    out
}
