//! Engine benchmarks at cluster scale: `cargo bench --bench engine`.
//!
//! Each size (S, M, L from `scripts/gen-cluster --seed 1`) is generated
//! once into `target/bench-data/` if missing, loaded once, and compiled into
//! a `Model` once; then every operation is measured on one thread:
//!
//! - `load`     manifests -> Snapshot (`source::files::load`)
//! - `model`    Snapshot -> Model (validate + compile every policy)
//! - `explain`  `cmd::explain::explain` for one API pod (`explain_dns`: for
//!   the CoreDNS pod, whose peers match every pod)
//! - `can`      `engine::verdict::connection` for one pair of pods
//! - `matrix`   `cmd::matrix::compute` over every pod (and its two stages,
//!   `matrix_classes` = `Classes::build`, `matrix_class_matrix` =
//!   `class_matrix`)
//! - `list`     `cmd::list::rows` for every namespace: each policy's summary,
//!   the pods it selects, and its lint findings (what `list -A` computes)
//! - `lint`     `engine::lint::lint` with every check, every policy
//! - `diff`     `engine::diff::diff` of the snapshot against the same
//!   cluster with 10 % of its policies changed (`gen-cluster
//!   --change-policies 10`), both `Model`s built: every changed pair with
//!   its reasons, and the external ranges (compare with `matrix`)
//!
//! Environment: `NETPOL_BENCH_SIZES=S,M` limits the sizes (default S,M,L);
//! `NETPOL_BENCH_DATA=DIR` reads/writes the YAML elsewhere. A filter word on
//! the command line (`cargo bench --bench engine -- matrix/L`) works as with
//! criterion. An operation that takes over 3 s once is not sampled by
//! criterion (10 samples minimum) but timed 3 times, printed as
//! `name  time: [min median max]  (3 runs)`.

use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode};
use netpol::cmd::explain::explain;
use netpol::cmd::matrix::compute;
use netpol::engine::Model;
use netpol::engine::lint::cni::CniFacts;
use netpol::engine::lint::{ClusterScope, LintOptions, lint};
use netpol::engine::reach::{Classes, class_matrix};
use netpol::engine::verdict::{Endpoint, connection};
use netpol::snapshot::{PodInfo, Snapshot};
use netpol::source::files::{LoadOptions, load};

const SEED: u32 = 1;
/// Above this for one run, an operation is timed by hand a few times.
const SLOW: Duration = Duration::from_secs(3);
const SLOW_RUNS: usize = 3;

fn data_dir() -> PathBuf {
    std::env::var_os("NETPOL_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data"))
}

/// The YAML of one size, generated on first use.
fn dataset(size: &str) -> PathBuf {
    generated(size, "")
}

/// The same cluster with 10 % of its policies changed (the NEW side of
/// `diff`), generated on first use.
fn dataset_changed(size: &str) -> PathBuf {
    generated(size, "10")
}

/// The same cluster with 50 ClusterNetworkPolicies added (both tiers;
/// `matrix_tiers`), generated on first use.
fn dataset_tiers(size: &str) -> PathBuf {
    generated(size, "cnp50")
}

/// `changed`: "" (the cluster), a percentage of policies changed, or
/// "cnp50" (50 cluster policies added).
fn generated(size: &str, changed: &str) -> PathBuf {
    let dir = data_dir();
    let suffix = match changed {
        "" => String::new(),
        "cnp50" => "-cnp50".to_string(),
        _ => format!("-changed{changed}"),
    };
    let path = dir.join(format!("{size}-seed{SEED}{suffix}.yaml"));
    if !path.exists() {
        std::fs::create_dir_all(&dir).expect("create the bench data directory");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/gen-cluster");
        let status = Command::new("python3")
            .arg(&script)
            .args(["--size", size, "--seed", &SEED.to_string()])
            .args(match changed {
                "" => Vec::new(),
                "cnp50" => vec!["--cluster-policies", "50"],
                _ => vec!["--change-policies", changed],
            })
            .arg("-o")
            .arg(&path)
            .status()
            .expect("run scripts/gen-cluster (python3)");
        assert!(status.success(), "scripts/gen-cluster failed");
    }
    path
}

fn load_size(path: &std::path::Path) -> Snapshot {
    load(&LoadOptions {
        paths: vec![path.display().to_string()],
        recursive: false,
        default_namespace: "default".into(),
    })
    .expect("load the generated manifests")
}

/// The filter words given on the command line (criterion's own flags and
/// their values skipped).
fn filters() -> Vec<String> {
    let mut out = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a.starts_with("--") {
            // Flags with a value.
            if matches!(
                a.as_str(),
                "--save-baseline"
                    | "--baseline"
                    | "--baseline-lenient"
                    | "--load-baseline"
                    | "--sample-size"
                    | "--warm-up-time"
                    | "--measurement-time"
                    | "--nresamples"
                    | "--noise-threshold"
                    | "--confidence-level"
                    | "--significance-level"
                    | "--profile-time"
                    | "--output-format"
                    | "--color"
                    | "--plotting-backend"
                    | "--format"
            ) {
                args.next();
            }
            continue;
        }
        out.push(a);
    }
    out
}

fn wanted(filters: &[String], id: &str) -> bool {
    // `matrix/|diff/`: either (criterion reads the filter as a regex).
    filters.is_empty()
        || filters
            .iter()
            .any(|f| f.split('|').any(|part| id.contains(part)))
}

/// The pods `explain` and `can` look at: an API pod that most policies
/// select (first by namespace/name on ties: the typical `explain`), the
/// CoreDNS pod (the heaviest: its peer `namespaceSelector: {}` matches every
/// pod), and a Prometheus pod of another namespace that scrapes the API pod.
fn subjects<'s>(model: &Model<'s>) -> (&'s PodInfo, &'s PodInfo, &'s PodInfo) {
    let snap = model.snapshot;
    let label = |p: &PodInfo, k: &str| p.labels.get(k).cloned().unwrap_or_default();
    let mut best = &snap.pods[0];
    let mut most = 0;
    for p in snap.pods.iter().filter(|p| label(p, "role") == "api") {
        let n = model.selecting(p).len();
        if n > most {
            most = n;
            best = p;
        }
    }
    let dns = snap
        .pods
        .iter()
        .find(|p| label(p, "k8s-app") == "kube-dns")
        .unwrap_or(best);
    let from = snap
        .pods
        .iter()
        .find(|p| label(p, "app") == "prometheus")
        .or_else(|| snap.pods.iter().find(|p| p.namespace != best.namespace))
        .unwrap_or(&snap.pods[0]);
    (best, dns, from)
}

fn list(model: &Model<'_>) -> usize {
    netpol::cmd::list::rows(model, &|_| true).len()
}

fn lint_all(model: &Model<'_>) -> usize {
    lint(
        model,
        &LintOptions::default(),
        &|_| true,
        &|_, _| true,
        ClusterScope::All,
    )
    .len()
}

struct Runner<'c> {
    c: &'c mut Criterion,
    filters: Vec<String>,
}

impl Runner<'_> {
    /// Measures `f` as `group/size`: criterion when one run is quick,
    /// a few timed runs otherwise.
    fn bench<R>(&mut self, group: &str, size: &str, mut f: impl FnMut() -> R) {
        let id = format!("{group}/{size}");
        if !wanted(&self.filters, &id) {
            return;
        }
        let start = Instant::now();
        black_box(f());
        let once = start.elapsed();
        if once > SLOW {
            let mut times = vec![once];
            for _ in 1..SLOW_RUNS {
                let t = Instant::now();
                black_box(f());
                times.push(t.elapsed());
            }
            times.sort();
            println!(
                "{id:<40} time:   [{:.4} s {:.4} s {:.4} s]  ({SLOW_RUNS} runs, not sampled by criterion)",
                times[0].as_secs_f64(),
                times[SLOW_RUNS / 2].as_secs_f64(),
                times[SLOW_RUNS - 1].as_secs_f64()
            );
            return;
        }
        let mut g = self.c.benchmark_group(group);
        if once > Duration::from_millis(20) {
            g.sample_size(10)
                .sampling_mode(SamplingMode::Flat)
                .warm_up_time(Duration::from_millis(500))
                .measurement_time(once * 12);
        } else {
            g.sample_size(30)
                .warm_up_time(Duration::from_millis(500))
                .measurement_time(Duration::from_secs(2));
        }
        g.bench_function(BenchmarkId::from_parameter(size), |b| b.iter(&mut f));
        g.finish();
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let filters = filters();
    let sizes = std::env::var("NETPOL_BENCH_SIZES").unwrap_or_else(|_| "S,M,L".into());
    let mut r = Runner { c: &mut c, filters };
    for size in sizes.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let path = dataset(size);
        let t = Instant::now();
        let snapshot = load_size(&path);
        let loaded = t.elapsed();
        let t = Instant::now();
        let model = Model::new(&snapshot, "default");
        let compiled = t.elapsed();
        let all: Vec<&PodInfo> = snapshot.pods.iter().collect();
        let (pod, dns, from) = subjects(&model);
        let classes = Classes::build(&model, &all);
        eprintln!(
            "size {size}: {} bytes, {} namespaces, {} pods, {} policies ({} invalid), {} matrix classes; loaded in {:.3} s, compiled in {:.3} s; explain {} and {}, can {} -> {}",
            std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
            snapshot.namespaces.len(),
            snapshot.pods.len(),
            model.policies.len(),
            model.invalid.len(),
            classes.len(),
            loaded.as_secs_f64(),
            compiled.as_secs_f64(),
            pod.key(),
            dns.key(),
            from.key(),
            pod.key()
        );

        r.bench("load", size, || load_size(&path).pods.len());
        r.bench("model", size, || {
            Model::new(&snapshot, "default").policies.len()
        });
        r.bench("explain", size, || {
            explain(&model, pod, None, &CniFacts::default)
                .findings
                .len()
        });
        r.bench("explain_dns", size, || {
            explain(&model, dns, None, &CniFacts::default)
                .findings
                .len()
        });
        r.bench("can", size, || {
            connection(&model, &Endpoint::Pod(from), &Endpoint::Pod(pod))
                .allowed
                .is_empty()
        });
        r.bench("list", size, || list(&model));
        r.bench("lint", size, || lint_all(&model));
        r.bench("matrix_classes", size, || {
            Classes::build(&model, &all).len()
        });
        r.bench("matrix_class_matrix", size, || {
            class_matrix(&model, &classes).get(0, 0).is_empty()
        });
        r.bench("matrix", size, || {
            compute(&model, &all, |m| {
                (0..all.len()).map(|i| m.row(i).len()).sum::<usize>()
            })
        });
        if wanted(&r.filters, &format!("matrix_tiers/{size}")) {
            let tiered = load_size(&dataset_tiers(size));
            let tiered_model = Model::new(&tiered, "default");
            let pods: Vec<&PodInfo> = tiered.pods.iter().collect();
            eprintln!(
                "size {size}: matrix_tiers: {} cluster policies ({} invalid), {} matrix classes",
                tiered_model.cluster_policies.len(),
                tiered_model.cluster_invalid.len(),
                Classes::build(&tiered_model, &pods).len()
            );
            r.bench("matrix_tiers", size, || {
                compute(&tiered_model, &pods, |m| {
                    (0..pods.len()).map(|i| m.row(i).len()).sum::<usize>()
                })
            });
        }
        if wanted(&r.filters, &format!("diff/{size}")) {
            let changed = load_size(&dataset_changed(size));
            let new_model = Model::new(&changed, "default");
            let d = netpol::engine::diff::diff(&model, &new_model);
            eprintln!(
                "size {size}: diff: {} policies differ, {} changed pod pairs, {} external changes",
                d.policies.len(),
                d.changes.len(),
                d.external.len()
            );
            r.bench("diff", size, || {
                netpol::engine::diff::diff(&model, &new_model).changes.len()
            });
        }
    }
    c.final_summary();
}
