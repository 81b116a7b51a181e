//! Shell completion through kubectl: kubectl (1.26 and newer) runs an
//! executable `kubectl_complete-netpol` with the words typed after
//! `kubectl netpol`; a one-line shim calls `kubectl-netpol __complete`.
//! The answer follows cobra's protocol: one candidate per line, then
//! `:<directive>` (4: do not fall back to file names).
//!
//! Subcommands, flags and `-o` formats (the subcommand's) come from the CLI
//! definition; `--context`, `--cluster` and `--user` from the kubeconfig;
//! `lint --disable/--enable` from the check registry (comma-separated);
//! namespaces, pods (of `-n`; for `can` also `NAMESPACE/` then its pods)
//! and policy names from the cluster, within two seconds, and quietly
//! nothing when it cannot be reached. `--flag=value` completes too.

use std::time::Duration;

use clap::CommandFactory;

use crate::cli::{Cli, ConnectionArgs, formats_of};
use crate::engine::lint::CHECKS;
use crate::source::live::{Live, read_kubeconfig};

/// cobra's ShellCompDirectiveNoSpace: the candidate is not finished
/// (`NS/`, or `a,b,` of a comma-separated list).
const NO_SPACE: u32 = 2;
const NO_FILES: u32 = 4;
const FILES: u32 = 0;

/// Completions for `words` (the last is the word being typed).
pub fn complete(words: &[String]) -> String {
    let (current, before) = match words.split_last() {
        Some((c, b)) => (c.as_str(), b),
        None => ("", &[][..]),
    };
    let cli = Cli::command();
    let sub = before
        .iter()
        .find(|w| !w.starts_with('-') && cli.find_subcommand(w.as_str()).is_some())
        .and_then(|w| cli.find_subcommand(w.as_str()));
    let sub_name = sub.map(|s| s.get_name().to_string()).unwrap_or_default();
    // `--flag=partial` completes like `--flag partial`, each candidate
    // given back with its `--flag=`.
    let (prev, current, prefix) = match current.split_once('=') {
        Some((flag, value)) if flag.starts_with("--") => (flag, value, format!("{flag}=")),
        _ => (
            before.last().map(String::as_str).unwrap_or(""),
            current,
            String::new(),
        ),
    };
    let value_of = |flag: &[&str]| -> Option<String> {
        // The last one given wins, as for kubectl.
        let mut found = None;
        for (i, w) in before.iter().enumerate() {
            if flag.contains(&w.as_str()) {
                found = before.get(i + 1).cloned();
            } else if let Some(v) = flag.iter().find_map(|f| w.strip_prefix(&format!("{f}="))) {
                found = Some(v.to_string());
            }
        }
        found.filter(|v| !v.is_empty())
    };
    let mut out: Vec<String> = Vec::new();
    let mut directive = NO_FILES;
    // What was typed before the last comma of a comma-separated value.
    let mut typed = String::new();
    let mut current = current.to_string();
    if matches!(
        prev,
        "-f" | "--filename"
            | "--kubeconfig"
            | "--certificate-authority"
            | "--client-certificate"
            | "--client-key"
            | "--write"
    ) {
        directive = FILES;
    } else if matches!(prev, "-n" | "--namespace") {
        out = cluster_names(&value_of, Names::Namespaces, None);
    } else if matches!(prev, "--context" | "--cluster" | "--user") {
        out = kubeconfig_names(&value_of, prev);
    } else if matches!(prev, "-o" | "--output") {
        out = formats_of(&sub_name)
            .iter()
            .map(|f| f.as_str().to_string())
            .collect();
    } else if prev == "--color" {
        out = ["auto", "always", "never"].map(String::from).to_vec();
    } else if matches!(prev, "--disable" | "--enable") && sub_name == "lint" {
        // Check ids, comma-separated: complete after the last comma.
        if let Some((done, last)) = current.rsplit_once(',') {
            typed = format!("{done},");
            current = last.to_string();
        }
        let given: Vec<&str> = typed.split(',').collect();
        out = CHECKS
            .iter()
            .map(|(id, _, _)| id.to_string())
            .filter(|id| !given.contains(&id.as_str()))
            .collect();
    } else if prev == "--name" && sub_name == "wizard" {
        out = cluster_names(&value_of, Names::Policies, None);
    } else if !prefix.is_empty() {
        // `--flag=` of a flag whose values are not completed.
    } else if current.starts_with('-') {
        let mut flags: Vec<String> = cli
            .get_arguments()
            .chain(sub.into_iter().flat_map(|s| s.get_arguments()))
            .filter(|a| !a.is_hide_set())
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .collect();
        flags.sort();
        flags.dedup();
        out = flags;
    } else if sub.is_none() {
        out = cli
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| s.get_name().to_string())
            .collect();
    } else if sub_name == "explain" {
        out = cluster_names(&value_of, Names::Pods, None);
    } else if sub_name == "can" {
        // SRC and DST: pods of -n, and NAMESPACE/ then that namespace's pods.
        match current.split_once('/') {
            Some((ns, _)) if !ns.is_empty() => {
                out = cluster_names(&value_of, Names::Pods, Some(ns))
                    .into_iter()
                    .map(|p| format!("{ns}/{p}"))
                    .collect();
            }
            _ => {
                out = cluster_names(&value_of, Names::Pods, None);
                out.extend(
                    cluster_names(&value_of, Names::Namespaces, None)
                        .into_iter()
                        .map(|n| format!("{n}/")),
                );
            }
        }
    }
    let kept: Vec<String> = out
        .into_iter()
        .filter(|c| c.starts_with(current.as_str()))
        .collect();
    if kept.iter().any(|c| c.ends_with('/')) {
        directive |= NO_SPACE;
    }
    let mut text: String = kept
        .into_iter()
        .map(|c| format!("{prefix}{typed}{c}\n"))
        .collect();
    text.push_str(&format!(":{directive}\n"));
    text
}

enum Names {
    Namespaces,
    Pods,
    Policies,
}

/// The connection flags typed so far (kubeconfig, context, ...).
fn typed_connection(value_of: &dyn Fn(&[&str]) -> Option<String>) -> ConnectionArgs {
    ConnectionArgs {
        kubeconfig: value_of(&["--kubeconfig"]),
        context: value_of(&["--context"]),
        cluster: value_of(&["--cluster"]),
        user: value_of(&["--user"]),
        server: value_of(&["--server", "-s"]),
        request_timeout: "2s".into(),
        ..Default::default()
    }
}

/// The names of the kubeconfig's contexts, clusters or users (`flag` is
/// `--context`, `--cluster` or `--user`), from the kubeconfig kubectl
/// would read (`--kubeconfig`, `$KUBECONFIG`, `~/.kube/config`); empty
/// when it cannot be read.
fn kubeconfig_names(value_of: &dyn Fn(&[&str]) -> Option<String>, flag: &str) -> Vec<String> {
    let Ok(Some(kc)) = read_kubeconfig(&typed_connection(value_of)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = match flag {
        "--context" => kc.contexts.into_iter().map(|c| c.name).collect(),
        "--cluster" => kc.clusters.into_iter().map(|c| c.name).collect(),
        _ => kc.auth_infos.into_iter().map(|a| a.name).collect(),
    };
    names.sort();
    names.dedup();
    names
}

/// Names from the cluster the typed flags point at; empty on any failure.
/// Pods are those of `namespace`, else of `-n`, else of the context's.
fn cluster_names(
    value_of: &dyn Fn(&[&str]) -> Option<String>,
    what: Names,
    namespace: Option<&str>,
) -> Vec<String> {
    let args = typed_connection(value_of);
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return Vec::new();
    };
    let namespace = namespace
        .map(str::to_string)
        .or_else(|| value_of(&["-n", "--namespace"]));
    rt.block_on(async {
        let Ok(live) = Live::connect(&args).await else {
            return Vec::new();
        };
        let ns = namespace.unwrap_or_else(|| live.namespace.clone());
        let fetch = async {
            match what {
                Names::Namespaces => live
                    .namespaces()
                    .await
                    .map(|v| v.into_iter().map(|n| n.name).collect()),
                Names::Pods => live
                    .pods(Some(&ns), None, None)
                    .await
                    .map(|v| v.into_iter().map(|p| p.name).collect()),
                Names::Policies => live
                    .policies(Some(&ns))
                    .await
                    .map(|v| v.into_iter().filter_map(|p| p.metadata.name).collect()),
            }
        };
        tokio::time::timeout(Duration::from_secs(2), live.bounded(fetch))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default()
    })
}
