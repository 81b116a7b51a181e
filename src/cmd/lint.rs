//! `kubectl netpol lint`: the gotchas users hit, found before they bite.
//!
//! Exit status: 0 when nothing at or above `--fail-on` was found, 5 when
//! something was, 1 on errors.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::cli::{LintArgs, OutputFormat};
use crate::cmd::{Context, Need, Outcome, Plan};
use crate::engine::Model;
use crate::engine::lint::cni::CniFacts;
use crate::engine::lint::{CHECKS, ClusterScope, Finding, LintOptions, Severity, lint};
use crate::error::{Error, exit};
use crate::render::{Palette, clean, table_with, to_json, to_yaml};
use crate::snapshot::Snapshot;

#[derive(Debug, Serialize)]
pub struct LintReport {
    pub findings: Vec<Finding>,
    pub summary: Summary,
}

/// Findings counted by severity; checks that could not be made (RBAC)
/// are counted apart, in `not_checked` only.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub error: usize,
    pub warning: usize,
    pub info: usize,
    #[serde(rename = "notChecked")]
    pub not_checked: usize,
}

impl Summary {
    pub fn of(findings: &[Finding]) -> Summary {
        let mut s = Summary::default();
        for f in findings {
            if f.is_not_checked() {
                s.not_checked += 1;
                continue;
            }
            match f.severity {
                Severity::Error => s.error += 1,
                Severity::Warning => s.warning += 1,
                Severity::Info => s.info += 1,
            }
        }
        s
    }
}

fn check_names(list: &[String]) -> Result<(), Error> {
    for c in list {
        if !CHECKS.iter().any(|(id, _, _)| id == c) {
            return Err(Error::Usage(format!(
                "unknown check {c:?} (see kubectl netpol lint --list-checks)"
            )));
        }
    }
    Ok(())
}

/// Manifests' objects laid over the cluster's: the manifests' policies
/// replace same-named ones in the cluster.
fn overlay(cluster: Snapshot, manifests: &Snapshot) -> Snapshot {
    let mine: BTreeSet<(Option<String>, Option<String>)> = manifests
        .policies
        .iter()
        .map(|p| (p.metadata.namespace.clone(), p.metadata.name.clone()))
        .collect();
    let mut policies = manifests.policies.clone();
    policies.extend(
        cluster
            .policies
            .into_iter()
            .filter(|p| !mine.contains(&(p.metadata.namespace.clone(), p.metadata.name.clone()))),
    );
    let mut pods = cluster.pods;
    // Pods and namespaces the cluster has win; a key is taken once.
    let mut known: BTreeSet<String> = pods.iter().map(|p| p.key()).collect();
    for p in &manifests.pods {
        if known.insert(p.key()) {
            pods.push(p.clone());
        }
    }
    let mut namespaces = cluster.namespaces;
    let mut known: BTreeSet<String> = namespaces.iter().map(|n| n.name.clone()).collect();
    for n in &manifests.namespaces {
        if !n.synthesized && known.insert(n.name.clone()) {
            namespaces.push(n.clone());
        }
    }
    let mut out = Snapshot::new(namespaces, pods, policies);
    // Cluster policies: the manifests' replace the cluster's of the same
    // kind and name.
    let mut cluster_policies: Vec<_> = cluster
        .cluster_policies
        .into_iter()
        .filter(|c| {
            !manifests
                .cluster_policies
                .iter()
                .any(|m| (&m.kind, &m.name) == (&c.kind, &c.name))
        })
        .collect();
    cluster_policies.extend(manifests.cluster_policies.iter().cloned());
    cluster_policies.sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));
    out.cluster_policies = cluster_policies;
    out.services = cluster.services;
    out.services.extend(manifests.services.iter().cloned());
    out.decode_errors = manifests.decode_errors.clone();
    out.namespaceless = manifests.namespaceless.clone();
    out.null_egress = manifests.null_egress.clone();
    out.gaps = cluster.gaps;
    out
}

pub fn run(ctx: &Context, args: &LintArgs) -> Result<Outcome, Error> {
    if args.list_checks {
        let rows: Vec<Vec<String>> = CHECKS
            .iter()
            .map(|(id, sev, what)| vec![id.to_string(), sev.as_str().to_string(), what.to_string()])
            .collect();
        return Ok(Outcome::ok(match ctx.format() {
            OutputFormat::Json | OutputFormat::Yaml => {
                /// One check, for `--list-checks -o json|yaml`.
                #[derive(Serialize)]
                struct CheckView<'a> {
                    check: &'a str,
                    severity: &'a str,
                    finds: &'a str,
                }
                let checks: Vec<CheckView<'_>> = rows
                    .iter()
                    .map(|r| CheckView {
                        check: &r[0],
                        severity: &r[1],
                        finds: &r[2],
                    })
                    .collect();
                let doc = serde_json::json!({ "checks": checks });
                if ctx.format() == OutputFormat::Json {
                    to_json(&doc)
                } else {
                    to_yaml(&doc)
                }
            }
            _ => table_with(&["CHECK", "SEVERITY", "FINDS"], &rows, !ctx.no_headers()),
        }));
    }
    check_names(&args.enable)?;
    check_names(&args.disable)?;
    if args.against_cluster && ctx.offline() && ctx.global.filenames.is_empty() {
        return Err(Error::Usage(
            "--against-cluster needs manifests: pass -f".into(),
        ));
    }
    let mut hint = None;
    let (snapshot, mine) = if args.against_cluster {
        if ctx.global.filenames.is_empty() {
            return Err(Error::Usage(
                "--against-cluster checks manifests: pass -f FILE".into(),
            ));
        }
        let manifests = ctx.snapshot(Plan::Scope {
            workloads: false,
            namespaces: Need::IfReadable,
            services: true,
        })?;
        ctx.manifests_in_namespace(&manifests)?;
        let mut mine: BTreeSet<String> = manifests
            .policies
            .iter()
            .map(|p| {
                format!(
                    "{}/{}",
                    p.metadata.namespace.as_deref().unwrap_or_default(),
                    p.metadata.name.as_deref().unwrap_or_default()
                )
            })
            .collect();
        // The manifests' cluster policies, as findings name them.
        mine.extend(
            manifests
                .cluster_policies
                .iter()
                .map(|c| format!("{}/{}", c.kind.to_lowercase(), c.name)),
        );
        let cluster = ctx.cluster_snapshot(&manifests)?;
        let merged = overlay(cluster.clone(), &manifests);
        hint = diff_hint(
            &cluster,
            &merged,
            &ctx.default_namespace(),
            &ctx.global.filenames,
        );
        (std::rc::Rc::new(merged), Some(mine))
    } else {
        let s = ctx.snapshot(Plan::Scope {
            workloads: false,
            namespaces: Need::IfReadable,
            services: true,
        })?;
        // Manifests are linted whole: `-n` naming another namespace than
        // theirs is an error (as with kubectl apply -f), never a filter.
        ctx.manifests_in_namespace(&s)?;
        (s, None)
    };
    let model = Model::new(&snapshot, &ctx.default_namespace());
    let opts = LintOptions {
        enable: args.enable.clone(),
        disable: args.disable.clone(),
        cni: cni_facts(ctx),
    };
    // Manifests: every policy in them (the cluster's are context);
    // a cluster: the policies of the scope.
    let scope = if ctx.offline() || mine.is_some() {
        None
    } else {
        ctx.scope()
    };
    let in_scope = |ns: &str, key: &str| {
        scope.as_deref().is_none_or(|s| s == ns) && mine.as_ref().is_none_or(|m| m.contains(key))
    };
    // Cluster policies have no namespace: a namespace's scope takes those
    // that may apply to its pods.
    let cluster = match (&mine, &scope) {
        (Some(mine), _) => ClusterScope::Named(mine),
        (None, Some(ns)) => ClusterScope::Namespace(ns),
        (None, None) => ClusterScope::All,
    };
    // Policies the API server would reject are `invalid-policy` findings.
    let findings = lint(
        &model,
        &opts,
        &|p| in_scope(&p.namespace, &p.key()),
        &in_scope,
        cluster,
    );
    let fail_on = Severity::parse(&args.fail_on).unwrap_or(Severity::Error);
    // A check that could not be made is unknown, not a failure.
    let failed = findings
        .iter()
        .any(|f| f.severity >= fail_on && !f.is_not_checked());
    let report = LintReport {
        summary: Summary::of(&findings),
        findings,
    };
    let stdout = match ctx.format() {
        OutputFormat::Json => to_json(&report),
        OutputFormat::Yaml => to_yaml(&report),
        OutputFormat::Text | OutputFormat::Wide | OutputFormat::Name => {
            render_text(&report, ctx.palette)
        }
    };
    // The tier checks need the cluster policies: said when unreadable.
    let mut warnings: Vec<String> = snapshot.gaps.cluster_policy_warning().into_iter().collect();
    warnings.extend(hint);
    Ok(Outcome {
        stdout,
        warnings,
        code: if failed { exit::FINDINGS } else { exit::OK },
    })
}

/// `--against-cluster`: one line on stderr when the manifests, laid over
/// the cluster, change connectivity (`kubectl netpol diff`'s engine), with
/// the command that lists the changes; `None` when nothing changes.
fn diff_hint(
    cluster: &crate::snapshot::Snapshot,
    merged: &crate::snapshot::Snapshot,
    default_ns: &str,
    files: &[String],
) -> Option<String> {
    let (old, new) = (
        Model::new(cluster, default_ns),
        Model::new(merged, default_ns),
    );
    let d = crate::engine::diff::diff(&old, &new);
    let [opened, closed, changed] = crate::cmd::diff::counts(&d);
    (opened + closed + changed > 0).then(|| {
        let f: Vec<String> = files.iter().map(|f| format!("-f {f}")).collect();
        format!(
            "hint: these manifests change connectivity ({opened} opened, {closed} closed, {changed} changed): kubectl netpol diff {} lists them",
            f.join(" ")
        )
    })
}

/// What `check` finds about the CNI (from the manifests, or read from the
/// cluster); unknown when the evidence cannot be read.
pub fn cni_facts(ctx: &Context) -> CniFacts {
    ctx.evidence(false)
        .map(|e| CniFacts::from_assessment(&crate::cni::assess(&e)))
        .unwrap_or_default()
}

/// One finding, compiler-style, with its hint indented below.
pub fn render_finding(f: &Finding, p: Palette) -> String {
    let sev = match f.severity {
        Severity::Error => p.bad("error"),
        Severity::Warning => p.warn("warning"),
        Severity::Info => p.dim("info"),
    };
    let path = f
        .path
        .as_deref()
        .map(|x| format!(" {x}"))
        .unwrap_or_default();
    let mut out = format!(
        "{sev}[{}]: {}{}: {}\n",
        f.check,
        p.head(&clean(&f.object)),
        clean(&path),
        clean(&f.message)
    );
    if let Some(h) = &f.hint {
        out.push_str("  fix:\n");
        for line in h.lines() {
            out.push_str(&format!("    {}\n", clean(line)));
        }
    }
    out
}

pub fn render_text(r: &LintReport, p: Palette) -> String {
    let mut out = String::new();
    for f in &r.findings {
        out.push_str(&render_finding(f, p));
    }
    let s = &r.summary;
    if r.findings.is_empty() {
        out.push_str("No findings.\n");
    } else {
        out.push_str(&format!(
            "\n{} error{}, {} warning{}, {} info",
            s.error,
            if s.error == 1 { "" } else { "s" },
            s.warning,
            if s.warning == 1 { "" } else { "s" },
            s.info
        ));
        if s.not_checked > 0 {
            out.push_str(&format!(
                ", {} not checked (what they need is not readable)",
                s.not_checked
            ));
        }
        out.push('\n');
    }
    out
}
