//! Shell completion through kubectl: kubectl (1.26 and newer) runs an
//! executable `kubectl_complete-netpol` with the words typed after
//! `kubectl netpol`; a one-line shim calls `kubectl-netpol __complete`.
//! The answer follows cobra's protocol: one candidate per line, then
//! `:<directive>` (4: do not fall back to file names).
//!
//! The words are read as the parser reads them ([`crate::cli::scan`]):
//! after a flag that takes a value come that flag's values, never
//! anything else. Subcommands, the flags that apply to the subcommand,
//! `-o` formats (the subcommand's) and flags' fixed values (`--color`,
//! `lint --fail-on`, `wizard --dry-run`) come from the CLI definition;
//! `--context`, `--cluster` and `--user` from the kubeconfig; `lint
//! --disable/--enable` from the check registry (comma-separated, none
//! given twice); namespaces, pods (of `-n`; for `can` also `NAMESPACE/`
//! then its pods) and policy names (`wizard --name`, `--from`) from the
//! manifests of `-f`, else from the cluster, all of it within two seconds,
//! and quietly nothing when it cannot be reached. Positional words beyond
//! a command's own get nothing. `--flag=value` and `-n=value` complete too.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::cli::{CONNECTION_HEADING, ConnectionArgs, find_flag, flag_applies, formats_of, scan};
use crate::engine::lint::CHECKS;
use crate::snapshot::Snapshot;
use crate::source::files::{LoadOptions, Manifests};
use crate::source::live::{Live, read_kubeconfig};

/// cobra's ShellCompDirectiveNoSpace: the candidate is not finished
/// (`NS/`, or `a,b,` of a comma-separated list).
const NO_SPACE: u32 = 2;
const NO_FILES: u32 = 4;
const FILES: u32 = 0;

/// The most a completion may take, cluster reads included.
pub const BUDGET: Duration = Duration::from_secs(2);

/// Completions for `words` (the last is the word being typed).
pub fn complete(words: &[String]) -> String {
    let deadline = Instant::now() + BUDGET;
    let (current, before) = match words.split_last() {
        Some((c, b)) => (c.as_str(), b),
        None => ("", &[][..]),
    };
    let mut cli = crate::cli::command();
    cli.build();
    let scanned = scan(&cli, before);
    let sub = scanned.sub.as_deref().and_then(|s| cli.find_subcommand(s));
    let sub_name = scanned.sub.clone().unwrap_or_default();
    let given = Given { before };
    let source = Source {
        given: &given,
        deadline,
    };
    // The flag whose value is being typed: `--flag=partial`, `-n=partial`
    // (candidates given back with their `--flag=`), or `--flag partial`.
    let (flag, current, prefix) = match current.split_once('=') {
        Some((f, value)) if f.starts_with('-') && !f.starts_with("---") => {
            (find_flag(&cli, sub, f), value, format!("{f}="))
        }
        _ => (
            scanned
                .pending
                .and_then(|i| find_flag(&cli, sub, &before[i])),
            current,
            String::new(),
        ),
    };
    let mut out: Vec<String> = Vec::new();
    let mut directive = NO_FILES;
    // What was typed before the last comma of a comma-separated value.
    let mut typed = String::new();
    let mut current = current.to_string();
    let value_flag = flag.is_some() && (scanned.pending.is_some() || !prefix.is_empty());
    if let Some(arg) = flag.filter(|_| value_flag) {
        match arg.get_id().as_str() {
            "filenames"
            | "kubeconfig"
            | "certificate_authority"
            | "client_certificate"
            | "client_key"
            | "write" => directive = FILES,
            "namespace" => out = source.names(Names::Namespaces, None),
            "context" | "cluster" | "user" => out = kubeconfig_names(&given, arg.get_id().as_str()),
            "output" => {
                out = formats_of(&sub_name)
                    .iter()
                    .map(|f| f.as_str().to_string())
                    .collect()
            }
            "disable" | "enable" => {
                // Check ids, comma-separated: complete after the last comma;
                // ids given before (to either flag) are not offered again.
                if let Some((done, last)) = current.rsplit_once(',') {
                    typed = format!("{done},");
                    current = last.to_string();
                }
                let mut seen: BTreeSet<String> = typed.split(',').map(str::to_string).collect();
                for flag in ["--disable", "--enable"] {
                    for v in given.all(flag) {
                        seen.extend(v.split(',').map(str::to_string));
                    }
                }
                out = CHECKS
                    .iter()
                    .map(|(id, _, _)| id.to_string())
                    .filter(|id| !seen.contains(id))
                    .collect();
            }
            "name" if sub_name == "wizard" => out = source.names(Names::Policies, None),
            "from_policy" => {
                // NAME in -n's namespace, or NAMESPACE/NAME.
                out = match current.split_once('/') {
                    Some((ns, _)) if !ns.is_empty() => source
                        .names(Names::Policies, Some(ns))
                        .into_iter()
                        .map(|p| format!("{ns}/{p}"))
                        .collect(),
                    _ => {
                        let (mut policies, namespaces) =
                            source.two((Names::Policies, None), (Names::Namespaces, None));
                        policies.extend(namespaces.into_iter().map(|n| format!("{n}/")));
                        policies
                    }
                };
            }
            _ => {
                // Fixed values (--color, lint --fail-on, --dry-run); any
                // other value is the user's to type.
                out = arg
                    .get_possible_values()
                    .into_iter()
                    .filter(|v| !v.is_hide_set())
                    .map(|v| v.get_name().to_string())
                    .collect();
            }
        }
    } else if !prefix.is_empty() {
        // `--flag=` of a flag that takes no value of its own.
    } else if current.starts_with('-') {
        let offline = given.offline(&sub_name);
        let mut flags: Vec<String> = cli
            .get_arguments()
            .chain(sub.into_iter().flat_map(|s| s.get_arguments()))
            .filter(|a| !a.is_hide_set())
            .filter(|a| {
                let long = a.get_long().unwrap_or_default();
                sub.is_none() || flag_applies(&sub_name, long)
            })
            .filter(|a| !(offline && a.get_help_heading() == Some(CONNECTION_HEADING)))
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
    } else {
        // Positional words, each command's own number of them.
        match (sub_name.as_str(), scanned.positionals.len()) {
            ("explain", 0) => out = source.names(Names::Pods, None),
            ("can", 0 | 1) => {
                // SRC and DST: pods of -n, and NAMESPACE/ then that
                // namespace's pods.
                out = match current.split_once('/') {
                    Some((ns, _)) if !ns.is_empty() => source
                        .names(Names::Pods, Some(ns))
                        .into_iter()
                        .map(|p| format!("{ns}/{p}"))
                        .collect(),
                    _ => {
                        let (mut pods, namespaces) =
                            source.two((Names::Pods, None), (Names::Namespaces, None));
                        pods.extend(namespaces.into_iter().map(|n| format!("{n}/")));
                        pods
                    }
                };
            }
            ("diff", 0 | 1) => directive = FILES,
            _ => {}
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

/// The words typed before the one being completed.
struct Given<'a> {
    before: &'a [String],
}

impl Given<'_> {
    /// Every value given to one of `flags` (`-n x`, `--namespace=x`, `-n=x`).
    fn all_of(&self, flags: &[&str]) -> Vec<String> {
        let mut found = Vec::new();
        for (i, w) in self.before.iter().enumerate() {
            if flags.contains(&w.as_str()) {
                found.extend(self.before.get(i + 1).cloned());
            } else if let Some(v) = flags.iter().find_map(|f| w.strip_prefix(&format!("{f}="))) {
                found.push(v.to_string());
            }
        }
        found
    }

    fn all(&self, flag: &str) -> Vec<String> {
        self.all_of(&[flag])
    }

    /// The value of the flag, the last one given winning, as for kubectl;
    /// `None` when not given or empty.
    fn value_of(&self, flags: &[&str]) -> Option<String> {
        self.all_of(flags).pop().filter(|v| !v.is_empty())
    }

    fn has(&self, flag: &str) -> bool {
        self.before
            .iter()
            .any(|w| w == flag || w.starts_with(&format!("{flag}=")))
    }

    /// Whether the command as typed reads no cluster (`-f`, but for `lint
    /// --against-cluster` and `diff`), so connection flags mean nothing.
    fn offline(&self, sub: &str) -> bool {
        let files = !self.all_of(&["-f", "--filename"]).is_empty();
        match sub {
            "diff" | "version" | "sync" => false,
            "lint" | "generate" => files && !self.has("--against-cluster"),
            "wizard" => files || self.has("--offline"),
            _ => files,
        }
    }

    /// The connection flags typed so far (kubeconfig, context, ...).
    fn connection(&self) -> ConnectionArgs {
        ConnectionArgs {
            kubeconfig: self.value_of(&["--kubeconfig"]),
            context: self.value_of(&["--context"]),
            cluster: self.value_of(&["--cluster"]),
            user: self.value_of(&["--user"]),
            server: self.value_of(&["--server", "-s"]),
            request_timeout: Some(format!("{}ms", BUDGET.as_millis())),
            ..Default::default()
        }
    }
}

/// The names of the kubeconfig's contexts, clusters or users (`id` is
/// `context`, `cluster` or `user`), from the kubeconfig kubectl would
/// read (`--kubeconfig`, `$KUBECONFIG`, `~/.kube/config`); empty when it
/// cannot be read.
fn kubeconfig_names(given: &Given, id: &str) -> Vec<String> {
    let Ok(Some(kc)) = read_kubeconfig(&given.connection()) else {
        return Vec::new();
    };
    let mut names: Vec<String> = match id {
        "context" => kc.contexts.into_iter().map(|c| c.name).collect(),
        "cluster" => kc.clusters.into_iter().map(|c| c.name).collect(),
        _ => kc.auth_infos.into_iter().map(|a| a.name).collect(),
    };
    names.sort();
    names.dedup();
    names
}

#[derive(Clone, Copy)]
enum Names {
    Namespaces,
    Pods,
    Policies,
}

/// Where names come from: the manifests of `-f`, else the cluster the
/// typed flags point at, before the deadline.
struct Source<'a> {
    given: &'a Given<'a>,
    deadline: Instant,
}

impl Source<'_> {
    /// Names of one kind; pods and policies are those of `namespace`,
    /// else of `-n`, else (live) of the context's namespace or (`-f`) of
    /// every namespace.
    fn names(&self, what: Names, namespace: Option<&str>) -> Vec<String> {
        self.read((what, namespace), None).0
    }

    /// Names of two kinds, read at the same time.
    fn two(
        &self,
        a: (Names, Option<&str>),
        b: (Names, Option<&str>),
    ) -> (Vec<String>, Vec<String>) {
        self.read(a, Some(b))
    }

    fn read(
        &self,
        a: (Names, Option<&str>),
        b: Option<(Names, Option<&str>)>,
    ) -> (Vec<String>, Vec<String>) {
        let typed_ns = self.given.value_of(&["-n", "--namespace"]);
        let ns = |n: Option<&str>| n.map(str::to_string).or_else(|| typed_ns.clone());
        let (a, b) = ((a.0, ns(a.1)), b.map(|b| (b.0, ns(b.1))));
        let files = self.given.all_of(&["-f", "--filename"]);
        if !files.is_empty() {
            // Never the cluster with -f; stdin cannot be read here.
            let Some(snapshot) = read_manifests(&files, self.given.has("-R"), &typed_ns) else {
                return (Vec::new(), Vec::new());
            };
            return (
                from_snapshot(&snapshot, a.0, a.1.as_deref()),
                b.map(|b| from_snapshot(&snapshot, b.0, b.1.as_deref()))
                    .unwrap_or_default(),
            );
        }
        let args = self.given.connection();
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return (Vec::new(), Vec::new());
        };
        let deadline = tokio::time::Instant::from_std(self.deadline);
        rt.block_on(async {
            let both = async {
                let Ok(live) = Live::connect(&args).await else {
                    return (Vec::new(), Vec::new());
                };
                let one = |request: Option<(Names, Option<String>)>| {
                    let live = live.clone();
                    async move {
                        let Some((what, ns)) = request else {
                            return Vec::new();
                        };
                        let ns = ns.unwrap_or_else(|| live.namespace.clone());
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
                                Names::Policies => live.policies(Some(&ns)).await.map(|v| {
                                    v.into_iter().filter_map(|p| p.metadata.name).collect()
                                }),
                            }
                        };
                        live.bounded(fetch).await.unwrap_or_default()
                    }
                };
                tokio::join!(one(Some(a)), one(b))
            };
            // One deadline for the whole completion, connecting included.
            tokio::time::timeout_at(deadline, both)
                .await
                .unwrap_or_default()
        })
    }
}

/// The manifests of `-f` (not stdin), quietly nothing when they cannot be
/// read.
fn read_manifests(
    files: &[String],
    recursive: bool,
    namespace: &Option<String>,
) -> Option<std::rc::Rc<Snapshot>> {
    if files.iter().any(|f| f == "-" || f.is_empty()) {
        return None;
    }
    Manifests::read(&LoadOptions {
        paths: files.to_vec(),
        recursive,
        default_namespace: namespace.clone().unwrap_or_else(|| "default".into()),
    })
    .ok()
    .map(|m| m.snapshot())
}

fn from_snapshot(s: &Snapshot, what: Names, namespace: Option<&str>) -> Vec<String> {
    let in_ns = |ns: &str| namespace.is_none_or(|n| n == ns);
    let names: BTreeSet<String> = match what {
        Names::Namespaces => s
            .namespaces
            .iter()
            .map(|n| n.name.clone())
            .chain(s.pods.iter().map(|p| p.namespace.clone()))
            .collect(),
        Names::Pods => s
            .pods
            .iter()
            .filter(|p| in_ns(&p.namespace))
            .map(|p| p.name.clone())
            .collect(),
        Names::Policies => s
            .policies
            .iter()
            .filter(|p| in_ns(p.metadata.namespace.as_deref().unwrap_or_default()))
            .filter_map(|p| p.metadata.name.clone())
            .collect(),
    };
    names.into_iter().collect()
}
