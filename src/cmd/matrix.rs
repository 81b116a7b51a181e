//! `kubectl netpol matrix`: who can reach whom among the pods in scope.
//!
//! Text is a grid for a handful of pods and a list beyond that; JSON lists
//! every ordered pair of distinct pods with at least one allowed port.

use serde::Serialize;

use crate::cli::{MatrixArgs, OutputFormat};
use crate::cmd::can::PortsJson;
use crate::cmd::{Context, Need, Outcome, Plan, namespace_labels_matter, require_valid};
use crate::engine::Model;
use crate::engine::ports::PortSet;
use crate::engine::reach::{Classes, PortSets, class_rows};
use crate::error::Error;
use crate::render::{Palette, clean, table, to_json, to_yaml};
use crate::snapshot::PodInfo;

/// Up to this many pods, text output is a grid.
const GRID_MAX: usize = 10;

#[derive(Serialize)]
pub struct MatrixReport<'a> {
    pub pods: Vec<PodJson>,
    pub connections: Connections<'a>,
}

/// The connections, turned into JSON objects one at a time while they are
/// written (a large matrix is never held twice).
pub struct Connections<'a> {
    pods: &'a [&'a PodInfo],
    pairs: &'a PodMatrix,
}

impl Serialize for Connections<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.pairs.iter().map(|(i, j, ports)| ConnectionJson {
            from: self.pods[i].key(),
            to: self.pods[j].key(),
            ports: PortsJson::of(ports),
        }))
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodJson {
    pub namespace: String,
    pub name: String,
    pub workload: Option<WorkloadJson>,
    pub ip: Option<String>,
    /// The pod uses the host network: it is its node's address (no policy
    /// isolates it; only ipBlocks match it).
    pub host_network: bool,
}

#[derive(Debug, Serialize)]
pub struct WorkloadJson {
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct ConnectionJson {
    pub from: String,
    pub to: String,
    pub ports: PortsJson,
}

/// The allowed ports between every ordered pair of distinct pods in scope
/// with at least one allowed port.
pub struct PodMatrix {
    /// (from, to, port set id), sorted by (from, to); indices into the pods
    /// given to [`compute`].
    pairs: Vec<(u32, u32, u32)>,
    sets: PortSets,
}

impl PodMatrix {
    /// (from index, to index, allowed ports), sorted by (from, to).
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (usize, usize, &PortSet)> + '_ {
        self.pairs
            .iter()
            .map(|&(i, j, id)| (i as usize, j as usize, self.sets.get(id)))
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

/// Computes the matrix of `pods`: pods are grouped into classes (see
/// [`Classes`]), the classes are decided pairwise, and each class pair is
/// expanded to its pods.
pub fn compute<'s>(model: &Model<'s>, pods: &[&'s PodInfo]) -> PodMatrix {
    use crate::engine::verdict::{Family, narrowed};
    use std::collections::BTreeSet;
    let present: BTreeSet<Family> = pods
        .iter()
        .flat_map(|p| p.ips.iter().map(Family::of))
        .collect();
    let (mut pairs, sets) = if present.len() <= 1 {
        compute_once(model, pods)
    } else {
        // Dual-stack: a connection uses one family, and each side's
        // ipBlocks see the other end's address of that family only (see
        // verdict::connection). One pass per family over the pods that
        // have an address of it (or none known), narrowed to it; a pair's
        // ports are the union over the passes.
        let mut sets = PortSets::new();
        let mut merged: std::collections::HashMap<(u32, u32), u32> =
            std::collections::HashMap::new();
        for family in present {
            let keep: Vec<usize> = (0..pods.len())
                .filter(|&i| {
                    pods[i].ips.is_empty() || pods[i].ips.iter().any(|ip| Family::of(ip) == family)
                })
                .collect();
            let owned: Vec<PodInfo> = keep.iter().map(|&i| narrowed(pods[i], family)).collect();
            let view: Vec<&PodInfo> = owned.iter().collect();
            let (pass, pass_sets) = compute_once(model, &view);
            for (i, j, id) in pass {
                let id = sets.intern(pass_sets.get(id).clone());
                let key = (keep[i as usize] as u32, keep[j as usize] as u32);
                let cell = merged.entry(key).or_insert(PortSets::EMPTY);
                *cell = sets.union(*cell, id);
            }
        }
        let pairs = merged.into_iter().map(|((i, j), id)| (i, j, id)).collect();
        (pairs, sets)
    };
    // Pod <-> own node (a host-network pod on it): every port, whatever the
    // classes say.
    let node = crate::engine::reach::node_pairs(model, pods);
    if !node.is_empty() {
        let exempt: std::collections::HashSet<(u32, u32)> =
            node.iter().map(|&(i, j)| (i as u32, j as u32)).collect();
        pairs.retain(|(i, j, _)| !exempt.contains(&(*i, *j)));
        pairs.extend(exempt.into_iter().map(|(i, j)| (i, j, PortSets::ALL)));
    }
    pairs.sort_unstable();
    PodMatrix { pairs, sets }
}

/// The pairs with something allowed, by class rows, for pods of one
/// address family (or unknown addresses); node traffic is added by the
/// caller.
fn compute_once(model: &Model<'_>, pods: &[&PodInfo]) -> (Vec<(u32, u32, u32)>, PortSets) {
    let classes = Classes::build(model, pods);
    let mut pairs = Vec::new();
    let sets = class_rows(model, &classes, |a, row, _| {
        let open: Vec<(usize, u32)> = row
            .iter()
            .enumerate()
            .filter(|(_, id)| **id != PortSets::EMPTY)
            .map(|(b, id)| (b, *id))
            .collect();
        for &i in &classes.members[a] {
            for &(b, id) in &open {
                for &j in &classes.members[b] {
                    if i != j {
                        pairs.push((i as u32, j as u32, id));
                    }
                }
            }
        }
    });
    (pairs, sets)
}

pub fn run(ctx: &Context, _args: &MatrixArgs) -> Result<Outcome, Error> {
    let snapshot = ctx.snapshot(Plan::Scope {
        namespaces: Need::IfReadable,
        services: false,
    })?;
    let model = Model::new(&snapshot, &ctx.default_namespace());
    let pods: Vec<&PodInfo> = snapshot
        .pods
        .iter()
        .filter(|p| ctx.in_scope(&p.namespace))
        .collect();
    let mut namespaces: Vec<&str> = pods.iter().map(|p| p.namespace.as_str()).collect();
    namespaces.dedup();
    let warnings = require_valid(&model, &namespaces)?;
    if let Some(why) = &snapshot.gaps.namespaces
        && namespace_labels_matter(&model, &namespaces)
    {
        return Err(Error::Forbidden(format!(
            "the answer depends on namespace labels, which could not be read: {why}"
        )));
    }
    let pairs = compute(&model, &pods);
    let mut warnings = warnings;
    warnings.extend(matrix_caveats(&model, &pods));
    let stdout = match ctx.format() {
        OutputFormat::Json | OutputFormat::Yaml => {
            let report = MatrixReport {
                pods: pods
                    .iter()
                    .map(|p| PodJson {
                        namespace: p.namespace.clone(),
                        name: p.name.clone(),
                        workload: p.workload.as_ref().map(|w| WorkloadJson {
                            kind: w.kind.clone(),
                            name: w.name.clone(),
                        }),
                        ip: p.ips.first().map(ToString::to_string),
                        host_network: p.on_host_network(),
                    })
                    .collect(),
                connections: Connections {
                    pods: &pods,
                    pairs: &pairs,
                },
            };
            if ctx.format() == OutputFormat::Json {
                to_json(&report)
            } else {
                to_yaml(&report)
            }
        }
        OutputFormat::Text | OutputFormat::Wide => {
            if pods.is_empty() {
                let mut o = Outcome::ok(String::new());
                o.warnings = warnings;
                o.warnings.push(match ctx.scope() {
                    Some(ns) => format!("No pods found in {ns} namespace."),
                    None => "No pods found".to_string(),
                });
                return Ok(o);
            }
            if pods.len() <= GRID_MAX {
                render_grid(&pods, &pairs, ctx.palette)
            } else {
                render_list(&pods, &pairs)
            }
        }
    };
    Ok(Outcome {
        stdout,
        warnings,
        code: 0,
    })
}

fn pod_label(p: &PodInfo) -> String {
    if p.on_host_network() {
        format!("{} (host network)", clean(&p.key()))
    } else {
        clean(&p.key())
    }
}

fn render_grid(pods: &[&PodInfo], pairs: &PodMatrix, pal: Palette) -> String {
    let n = pods.len();
    let mut cells = vec![vec![pal.dim("-"); n]; n];
    let mut legend: Vec<String> = Vec::new();
    for (i, row) in cells.iter_mut().enumerate() {
        row[i] = pal.dim("self");
    }
    for (i, j, ports) in pairs.iter() {
        cells[i][j] = if ports.is_all() {
            pal.good("all")
        } else {
            let text = ports.to_strings().join(", ");
            let k = match legend.iter().position(|l| *l == text) {
                Some(k) => k,
                None => {
                    legend.push(text);
                    legend.len() - 1
                }
            };
            pal.warn(&format!("P{}", k + 1))
        };
    }
    let mut out = String::from("Columns are destinations, rows are sources.\n");
    let mut headers: Vec<String> = vec!["FROM \\ TO".to_string()];
    headers.extend((1..=n).map(|k| format!("[{k}]")));
    let rows: Vec<Vec<String>> = (0..n)
        .map(|i| {
            let mut row = vec![format!("[{}] {}", i + 1, pod_label(pods[i]))];
            row.extend(cells[i].iter().cloned());
            row
        })
        .collect();
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    out.push_str(&table(&header_refs, &rows));
    out.push_str(
        "\nall = every port; - = nothing allowed; self = a pod to itself (never restricted)\n",
    );
    for (k, l) in legend.iter().enumerate() {
        out.push_str(&format!("P{} = {l}\n", k + 1));
    }
    out
}

fn render_list(pods: &[&PodInfo], pairs: &PodMatrix) -> String {
    let rows: Vec<Vec<String>> = pairs
        .iter()
        .map(|(i, j, ports)| {
            vec![
                pod_label(pods[i]),
                pod_label(pods[j]),
                if ports.is_all() {
                    "all".to_string()
                } else {
                    ports.to_strings().join(", ")
                },
            ]
        })
        .collect();
    let total = pods.len() * (pods.len() - 1);
    let mut out = if rows.is_empty() {
        String::new()
    } else {
        table(&["FROM", "TO", "PORTS"], &rows)
    };
    out.push_str(&format!(
        "\n{} pods; {} of {} ordered pairs may connect; the other {} may not connect on any port.\n",
        pods.len(),
        pairs.len(),
        total,
        total - pairs.len()
    ));
    out
}

/// What the matrix cannot know, as warnings for stderr.
fn matrix_caveats(model: &Model<'_>, pods: &[&PodInfo]) -> Vec<String> {
    let mut out = Vec::new();
    let has_ip_blocks = model
        .policies
        .iter()
        .flat_map(|p| p.peers())
        .any(|peer| matches!(peer, crate::engine::policy::Peer::IpBlock(_)));
    let no_ip = pods.iter().filter(|p| p.ips.is_empty()).count();
    if has_ip_blocks && no_ip > 0 {
        out.push(format!(
            "warning: {no_ip} {} no known IP (workload manifests have none): ipBlock rules cannot match {}, so the cluster may allow more than shown",
            if no_ip == 1 { "pod has" } else { "pods have" },
            if no_ip == 1 { "it" } else { "them" }
        ));
    }
    let host: Vec<String> = pods
        .iter()
        .filter(|p| p.host_network)
        .map(|p| p.key())
        .collect();
    if !host.is_empty() {
        out.push(format!(
            "note: host-network pods ({}) are treated as their node's address: no policy isolates them, only ipBlocks match them, and traffic between them and pods on the same node is always allowed (the API leaves host-network pods undefined; most CNIs behave this way)",
            host.join(", ")
        ));
    }
    if model
        .guessed_namespaces()
        .iter()
        .any(|n| pods.iter().any(|p| p.namespace == *n))
        && let Some(n) = model.guessed_namespaces_note()
    {
        out.push(format!("warning: {n}"));
    }
    out
}
