//! Every input of `../shared/cases/real-world/` (situations people reported
//! in public, rebuilt with neutral names) gives its expected answer.
//!
//! Each file's header states the question and the answer the Kubernetes
//! API gives; the table below turns those into commands and assertions.
//! (tests/lint.rs `real_world_cases_get_their_findings` checks the
//! findings' paths; here their wording and the connections.) A file the
//! table does not know yet is still run through every command
//! that reads manifests: none may panic or fail other than as documented.

use std::path::{Path, PathBuf};

mod common;
use common::*;

fn cases_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/cases/real-world");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is missing: CI lays shared/ beside the checkout",
        dir.display()
    );
    eprintln!("\n*** SKIPPED: {} not found ***\n", dir.display());
    None
}

/// What one command must answer on one case file.
enum Expect {
    /// `can` must exit 0 (allowed) or 1 (denied), and its text contain
    /// every string given.
    Can(&'static [&'static str], bool, &'static [&'static str]),
    /// `lint -o json` must hold a finding of this check whose message or
    /// hint contains every string given.
    Finding(&'static str, &'static [&'static str]),
}

use Expect::{Can, Finding};

fn expectations(file: &str) -> Option<Vec<Expect>> {
    Some(match file {
        "05-ipblock-zero-slash-24.yaml" => vec![
            Can(
                &["jobs/worker", "other/store", "--port", "9999"],
                false,
                &[],
            ),
            Can(&["jobs/worker", "other/store", "--port", "80"], false, &[]),
            Can(
                &["other/store", "jobs/worker", "--port", "9999"],
                false,
                &[],
            ),
            // `jobs/worker` is namespace jobs, pod worker (a namespace of
            // that name exists), not a Job.
            Can(&["-n", "jobs", "worker", "other/store"], false, &[]),
            Finding("ipblock-unusable-range", &["0.0.0.0/0"]),
        ],
        "07-dns-service-port-vs-container-port.yaml" => vec![
            Can(
                &[
                    "gateway/egressgw",
                    "kube-system/dns-1",
                    "--port",
                    "8053/UDP",
                ],
                false,
                &[],
            ),
            Can(
                &[
                    "gateway/egressgw",
                    "kube-system/dns-1",
                    "--port",
                    "8053/TCP",
                ],
                false,
                &[],
            ),
            // Asked about the Service, the answer is about its pod on 8053.
            Can(
                &[
                    "gateway/egressgw",
                    "kube-system/svc/kube-dns",
                    "--port",
                    "53/UDP",
                ],
                false,
                &["port 53/UDP -> UDP/8053"],
            ),
            Can(
                &["gateway/egressgw", "10.0.0.10", "--port", "53/UDP"],
                false,
                &["via Service kube-system/kube-dns"],
            ),
            Finding("egress-blocks-dns", &["8053"]),
        ],
        "10-probe-from-node-under-deny-all.yaml" => vec![
            Can(
                &["172.18.0.3", "shop/app", "--port", "1234"],
                true,
                &["Node traffic", "node-a"],
            ),
            Can(&["172.18.0.3", "shop/app", "--port", "app"], true, &[]),
            Can(&["172.18.0.4", "shop/app", "--port", "1234"], false, &[]),
        ],
        "14-empty-egress-without-policytypes.yaml" => vec![
            Can(&["shop/web", "shop/api"], false, &[]),
            Can(&["shop/api", "203.0.113.9", "--port", "443"], true, &[]),
            Finding(
                "empty-egress-without-policy-types",
                &["policyTypes: [Egress]"],
            ),
        ],
        "16-egress-to-hostnetwork-daemon.yaml" => vec![
            Can(
                &[
                    "monitoring/prometheus",
                    "kube-system/node-agent-a",
                    "--port",
                    "61678",
                ],
                false,
                &["selectors do not match host-network pods"],
            ),
            Can(
                &["monitoring/prometheus", "192.168.20.11", "--port", "61678"],
                false,
                &[],
            ),
            Finding("namespace-selector-typo", &["kubernetes.io/metadata.name"]),
            Finding("split-peer", &[]),
            Finding("host-network-peer", &["ipBlock"]),
        ],
        _ => return None,
    })
}

#[test]
fn every_real_world_case_gives_its_expected_answer() {
    let Some(dir) = cases_dir() else { return };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read the cases")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no case in {}", dir.display());
    let mut known = 0;
    for path in &files {
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let f = path.display().to_string();
        // Whatever the file, every reading command answers without a
        // panic, with a documented exit code.
        for (args, codes) in [
            // (README, "Exit codes": 1 from list means invalid policies.)
            (vec!["list", "-f", &f], &[0, 1][..]),
            (vec!["lint", "-f", &f], &[0, 5][..]),
            (vec!["matrix", "-f", &f], &[0, 1][..]),
            (vec!["coverage", "-f", &f], &[0, 1][..]),
            (vec!["check", "-f", &f], &[0, 3, 4][..]),
        ] {
            let out = netpol().args(&args).output().expect("run");
            let code = out.status.code().unwrap_or(-1);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(!err.contains("panicked"), "{args:?}: {err}");
            assert!(codes.contains(&code), "{args:?}: exit {code}: {err}");
        }
        let Some(expect) = expectations(&file) else {
            eprintln!("note: {file} has no expectations in tests/real_world.rs yet");
            continue;
        };
        known += 1;
        for e in expect {
            match e {
                Can(args, allowed, texts) => {
                    let mut all = vec!["can"];
                    all.extend_from_slice(args);
                    all.extend(["-f", &f]);
                    let out = netpol().args(&all).output().expect("run");
                    let text = String::from_utf8_lossy(&out.stdout);
                    assert_eq!(
                        out.status.code(),
                        Some(if allowed { 0 } else { 1 }),
                        "{file}: {all:?}\n{text}{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    for t in texts {
                        assert!(text.contains(t), "{file}: {all:?}: no {t:?} in\n{text}");
                    }
                }
                Finding(check, texts) => {
                    let out = netpol()
                        .args(["lint", "-f", &f, "-o", "json"])
                        .output()
                        .expect("run");
                    let v = parse_json(&String::from_utf8_lossy(&out.stdout));
                    let found = v["findings"].as_array().unwrap().iter().any(|x| {
                        x["check"] == check
                            && texts.iter().all(|t| {
                                x["message"].as_str().unwrap_or_default().contains(t)
                                    || x["hint"].as_str().unwrap_or_default().contains(t)
                            })
                    });
                    assert!(found, "{file}: no {check} finding with {texts:?} in {v:#}");
                }
            }
        }
    }
    assert!(known >= 5, "only {known} cases have expectations");
}
