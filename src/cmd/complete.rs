//! Shell completion through kubectl: kubectl (1.26 and newer) runs an
//! executable `kubectl_complete-netpol` with the words typed after
//! `kubectl netpol`; a one-line shim calls `kubectl-netpol __complete`.
//! The answer follows cobra's protocol: one candidate per line, then
//! `:<directive>` (4: do not fall back to file names).
//!
//! Subcommands and flags come from the CLI definition; namespaces, pods and
//! policy names from the cluster, within two seconds, and quietly nothing
//! when it cannot be reached.

use std::time::Duration;

use clap::CommandFactory;

use crate::cli::{Cli, ConnectionArgs};
use crate::source::live::Live;

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
    let prev = before.last().map(String::as_str).unwrap_or("");
    let mut out: Vec<String> = Vec::new();
    let mut directive = NO_FILES;
    let value_of = |flag: &[&str]| -> Option<String> {
        before
            .windows(2)
            .find(|w| flag.contains(&w[0].as_str()))
            .map(|w| w[1].clone())
            .or_else(|| {
                before.iter().find_map(|w| {
                    flag.iter()
                        .find_map(|f| w.strip_prefix(&format!("{f}=")).map(str::to_string))
                })
            })
    };
    if matches!(
        prev,
        "-f" | "--filename" | "--kubeconfig" | "--certificate-authority" | "--write"
    ) {
        directive = FILES;
    } else if matches!(prev, "-n" | "--namespace") {
        out = cluster_names(before, &value_of, Names::Namespaces);
    } else if matches!(prev, "-o" | "--output") {
        out = ["text", "wide", "json", "yaml"].map(String::from).to_vec();
    } else if prev == "--color" {
        out = ["auto", "always", "never"].map(String::from).to_vec();
    } else if prev == "--name" && sub.is_some_and(|s| s.get_name() == "wizard") {
        out = cluster_names(before, &value_of, Names::Policies);
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
    } else if sub.is_some_and(|s| matches!(s.get_name(), "explain" | "can")) {
        out = cluster_names(before, &value_of, Names::Pods);
    }
    let mut text: String = out
        .into_iter()
        .filter(|c| c.starts_with(current))
        .map(|c| format!("{c}\n"))
        .collect();
    text.push_str(&format!(":{directive}\n"));
    text
}

enum Names {
    Namespaces,
    Pods,
    Policies,
}

/// Names from the cluster the typed flags point at; empty on any failure.
fn cluster_names(
    before: &[String],
    value_of: &dyn Fn(&[&str]) -> Option<String>,
    what: Names,
) -> Vec<String> {
    let args = ConnectionArgs {
        kubeconfig: value_of(&["--kubeconfig"]),
        context: value_of(&["--context"]),
        cluster: value_of(&["--cluster"]),
        user: value_of(&["--user"]),
        server: value_of(&["--server", "-s"]),
        request_timeout: "2s".into(),
        ..Default::default()
    };
    let _ = before;
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return Vec::new();
    };
    let namespace = value_of(&["-n", "--namespace"]);
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
