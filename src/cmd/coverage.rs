//! `kubectl netpol coverage`: what is left unprotected, per namespace.

use crate::cli::{CoverageArgs, OutputFormat};
use crate::cmd::{Context, Need, Outcome, Plan};
use crate::engine::Model;
use crate::engine::coverage::{Coverage, MAY_SELECT, NamespaceCoverage, coverage_of};
use crate::error::Error;
use crate::render::{Palette, clean, table, table_with, to_json, to_yaml};
use crate::snapshot::PodInfo;

pub fn run(ctx: &Context, _args: &CoverageArgs) -> Result<Outcome, Error> {
    let snapshot = ctx.snapshot(Plan::Scope {
        workloads: false,
        namespaces: Need::No,
        services: false,
    })?;
    // Cluster policies may select namespaces by their labels: read them
    // then (when readable), as other commands do, so that a subject is
    // decided as from manifests rather than "may select".
    let snapshot = if snapshot.cluster_policies.is_empty() {
        snapshot
    } else {
        ctx.with_namespaces(snapshot)?
    };
    let model = Model::new(&snapshot, &ctx.default_namespace());
    // -l: the pods counted, by their labels (the namespaces' default
    // denies are still shown: they select every pod).
    let selector = ctx.selector()?;
    let pick = |p: &PodInfo| selector.as_ref().is_none_or(|s| s.matches(&p.labels));
    let c = coverage_of(
        &model,
        ctx.scope().as_deref(),
        selector
            .as_ref()
            .map(|_| &pick as &dyn Fn(&PodInfo) -> bool),
    );
    let mut warnings: Vec<String> = model
        .invalid
        .iter()
        .filter(|p| ctx.in_scope(&p.namespace))
        .map(|p| format!("warning: NetworkPolicy {:?} is invalid (the API server would reject it) and is left out", p.key))
        .collect();
    // Invalid cluster policies: what they would protect is unknown (they
    // count as protecting nothing).
    warnings.extend(model.cluster_invalid.iter().map(|p| {
        format!(
            "warning: {} {:?} is invalid (the API server would reject it): the pods it may select are counted as not protected by it, which it may change: {}",
            p.kind,
            p.name,
            p.errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        )
    }));
    warnings.extend(snapshot.gaps.cluster_policy_warning());
    // Cluster policies of an API the CNI does not implement: counted as
    // protecting pods that nothing protects on this cluster.
    warnings.extend(ctx.tier_warnings(&snapshot));
    if c.namespaces.is_empty() {
        warnings.push(match ctx.scope() {
            Some(ns) => format!("No resources found in {ns} namespace."),
            None => "No resources found".to_string(),
        });
    }
    let read = snapshot.gaps.cluster_policies_read();
    let unread = !read.cluster_policies_readable;
    let report = CoverageReport {
        coverage: &c,
        cluster_policies_read: read,
    };
    let stdout = match ctx.format() {
        OutputFormat::Json => to_json(&report),
        OutputFormat::Yaml => to_yaml(&report),
        OutputFormat::Text | OutputFormat::Wide if c.namespaces.is_empty() => String::new(),
        OutputFormat::Text if ctx.no_headers() => namespace_table(&c, ctx.palette, false),
        OutputFormat::Text => render_text(&c, ctx.palette, false, unread),
        OutputFormat::Wide => render_text(&c, ctx.palette, true, unread),
        // Refused by `Cli::check_flags`.
        OutputFormat::Name => String::new(),
    };
    Ok(Outcome {
        stdout,
        warnings,
        code: 0,
    })
}

/// `coverage -o json`: the coverage, and whether the cluster policies
/// could be read (when not, a pod "not isolated" may still be protected
/// by one).
#[derive(serde::Serialize)]
struct CoverageReport<'c> {
    #[serde(flatten)]
    coverage: &'c Coverage,
    #[serde(flatten)]
    cluster_policies_read: crate::snapshot::ClusterPoliciesRead,
}

fn ratio(part: usize, whole: usize) -> String {
    format!("{part}/{whole}")
}

fn few(list: &[String], wide: bool) -> String {
    let n = if wide { list.len() } else { 5 };
    let shown: Vec<String> = list.iter().take(n).map(|s| clean(s)).collect();
    if list.len() > shown.len() {
        format!("{} and {} more", shown.join(", "), list.len() - shown.len())
    } else {
        shown.join(", ")
    }
}

/// The table of namespaces; with its header and TOTAL row unless
/// `--no-headers` (`headers` false), which prints the namespace rows alone.
fn namespace_table(c: &Coverage, p: Palette, headers: bool) -> String {
    let mut rows: Vec<Vec<String>> = c
        .namespaces
        .iter()
        .map(|n| {
            let mut deny = Vec::new();
            if !n.default_deny_ingress.is_empty() {
                deny.push("ingress");
            }
            if !n.default_deny_egress.is_empty() {
                deny.push("egress");
            }
            let mark = |iso: usize| {
                let text = ratio(iso, n.pods);
                if iso < n.pods { p.warn(&text) } else { text }
            };
            let mut row = vec![
                clean(&n.namespace),
                n.pods.to_string(),
                mark(n.ingress_isolated),
                mark(n.egress_isolated),
            ];
            // With cluster policies: protected by any tier.
            row.extend(n.ingress_protected.map(mark));
            row.extend(n.egress_protected.map(mark));
            row.push(if deny.is_empty() {
                "<none>".to_string()
            } else {
                deny.join(", ")
            });
            row
        })
        .collect();
    let tiers = c.total.ingress_protected.is_some();
    if headers {
        let mut total = vec![
            "TOTAL".into(),
            c.total.pods.to_string(),
            ratio(c.total.ingress_isolated, c.total.pods),
            ratio(c.total.egress_isolated, c.total.pods),
        ];
        total.extend(c.total.ingress_protected.map(|n| ratio(n, c.total.pods)));
        total.extend(c.total.egress_protected.map(|n| ratio(n, c.total.pods)));
        total.push(String::new());
        rows.push(total);
    }
    let mut columns = vec!["NAMESPACE", "PODS", "INGRESS ISOLATED", "EGRESS ISOLATED"];
    if tiers {
        columns.extend(["INGRESS ANY TIER", "EGRESS ANY TIER"]);
    }
    columns.push("DEFAULT DENY");
    table_with(&columns, &rows, headers)
}

/// The text output: the namespaces, their open pods, the host-network
/// pods, and with `wide` the policies selecting each pod. `unread`: the
/// cluster's cluster policies could not be read (RBAC), so the pods no
/// NetworkPolicy isolates may still be protected by one.
pub fn render_text(c: &Coverage, p: Palette, wide: bool, unread: bool) -> String {
    let mut out = namespace_table(c, p, true);
    // With cluster policies, the pods no tier protects (those an Admin or
    // Baseline policy protects are not open, whatever NetworkPolicy says);
    // a pod a cluster policy only may select is marked so.
    let tiers = c.total.ingress_protected.is_some();
    let lists = |n: &'_ NamespaceCoverage| -> (Vec<String>, Vec<String>) {
        if !tiers {
            return (
                n.not_isolated_ingress.clone(),
                n.not_isolated_egress.clone(),
            );
        }
        let marked = |list: &Option<Vec<String>>, ingress: bool| -> Vec<String> {
            list.iter()
                .flatten()
                .map(|pod| {
                    let may = n.pod_policies.iter().any(|pp| {
                        &pp.pod == pod
                            && if ingress {
                                &pp.cluster_ingress
                            } else {
                                &pp.cluster_egress
                            }
                            .iter()
                            .any(|x| x.ends_with(MAY_SELECT))
                    });
                    if may {
                        format!("{pod} (a cluster policy may select it)")
                    } else {
                        pod.clone()
                    }
                })
                .collect()
        };
        (
            marked(&n.not_protected_ingress, true),
            marked(&n.not_protected_egress, false),
        )
    };
    let open: Vec<(Vec<String>, Vec<String>)> = c
        .namespaces
        .iter()
        .map(lists)
        .filter(|(i, e)| !i.is_empty() || !e.is_empty())
        .collect();
    if !open.is_empty() {
        out.push_str(if tiers {
            "\nNot protected by any tier (every connection allowed in that direction: no NetworkPolicy isolates them and no Admin or Baseline policy selects them for certain):\n"
        } else if unread {
            "\nNot isolated (every connection allowed in that direction as far as NetworkPolicy decides; the cluster policies (Admin and Baseline tiers) could not be read, and they may protect these pods):\n"
        } else {
            "\nNot isolated (every connection allowed in that direction):\n"
        });
        for (ingress, egress) in open {
            if !ingress.is_empty() {
                out.push_str(&format!("  ingress  {}\n", few(&ingress, wide)));
            }
            if !egress.is_empty() {
                out.push_str(&format!("  egress   {}\n", few(&egress, wide)));
            }
        }
    }
    let host: Vec<String> = c
        .namespaces
        .iter()
        .flat_map(|n| n.host_network.iter().cloned())
        .collect();
    if !host.is_empty() {
        // With cluster policies (the ANY TIER columns), their egress
        // networks and nodes peers reach a node's address too.
        let reach = if c.total.ingress_protected.is_some() {
            "ipBlocks and cluster policies' egress networks and nodes peers"
        } else {
            "ipBlocks"
        };
        out.push_str(&format!(
            "\nHost network (no NetworkPolicy can isolate them; they are their node's address, which only {reach} reach):\n  {}\n",
            few(&host, wide)
        ));
    }
    if wide {
        out.push_str("\nPolicies selecting each pod:\n");
        let rows: Vec<Vec<String>> = c
            .namespaces
            .iter()
            .flat_map(|n| n.pod_policies.iter())
            .map(|pp| {
                let names = |v: &[String]| {
                    if v.is_empty() {
                        "<none>".to_string()
                    } else {
                        v.join(",")
                    }
                };
                // Cluster policies after the NetworkPolicies, `+`-joined.
                let with = |v: &[String], cluster: &[String]| {
                    let mut text = names(v);
                    for c in cluster {
                        text.push_str(&format!(" + {c}"));
                    }
                    text
                };
                vec![
                    clean(&pp.pod),
                    clean(&with(&pp.ingress, &pp.cluster_ingress)),
                    clean(&with(&pp.egress, &pp.cluster_egress)),
                ]
            })
            .collect();
        out.push_str(&table(
            &["POD", "INGRESS POLICIES", "EGRESS POLICIES"],
            &rows,
        ));
    }
    out
}
