//! `kubectl netpol matrix`: who can reach whom among the pods in scope.
//!
//! Text is a grid for a handful of pods and a list beyond that; JSON lists
//! every ordered pair of distinct pods with at least one allowed port.
//! Rows are computed one source pod at a time ([`PodMatrix::row`]; for a
//! large matrix a block of rows at a time on the `NETPOL_THREADS` pool,
//! [`PodMatrix::rows`], handed on in pod order) and written as they are
//! made, so memory grows with the pods and the pod classes, never with
//! the pairs (issue 12).

use std::cell::RefCell;
use std::io::Write;
use std::sync::Mutex;

use foldhash::{HashMap, HashMapExt};

use serde::Serialize;

use crate::cli::{MatrixArgs, OutputFormat};
use crate::cmd::can::PortsJson;
use crate::cmd::{Context, Need, Outcome, Output, Plan, require_valid};
use crate::engine::Model;
use crate::engine::ports::PortSet;
use crate::engine::reach::{ClassRules, Classes, NodeTraffic, PortSets, RowMemo};
use crate::error::Error;
use crate::render::{Palette, clean, table, visible_width, write_json, write_yaml};
use crate::snapshot::PodInfo;
use crate::source::files::Parallel;

/// Up to this many pods, text output is a grid.
const GRID_MAX: usize = 10;

/// Up to this many pods, rows are computed on the calling thread: a
/// block's worth, too few to gain from the pool.
const POOL_PODS: usize = BLOCK_ROWS;

#[derive(Serialize)]
pub struct MatrixReport<'a, 'm, 's> {
    pub pods: Vec<PodJson>,
    pub connections: Connections<'a, 'm, 's>,
    /// Whether the cluster policies could be read: when not, the
    /// connections are NetworkPolicy's answer alone.
    #[serde(flatten)]
    pub cluster_policies_read: crate::snapshot::ClusterPoliciesRead,
}

/// The connections, computed one source pod at a time (on `pool` when
/// given: [`PodMatrix::rows`]) and turned into JSON objects while they
/// are written (never held all at once).
pub struct Connections<'a, 'm, 's> {
    pods: &'a [&'a PodInfo],
    matrix: RefCell<&'a mut PodMatrix<'m, 's>>,
    pool: Option<&'a rayon::ThreadPool>,
    undecided: &'a Undecided,
}

impl Serialize for Connections<'_, '_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut matrix = self.matrix.borrow_mut();
        let mut seq = s.serialize_seq(None)?;
        matrix.rows(self.pool, |i, row| {
            let maybe = self.undecided.row(i);
            // Allowed pairs and undecided ones merged by destination: a
            // pair in both is one element with `possible`.
            let mut k = 0;
            let emit_maybe = |seq: &mut S::SerializeSeq, j: usize, possible: &PortSet| {
                seq.serialize_element(&ConnectionJson {
                    from: self.pods[i].ref_key(),
                    to: self.pods[j].ref_key(),
                    ports: PortsJson::of(&PortSet::empty()),
                    possible: Some(PortsJson::of(possible)),
                })
            };
            for (j, ports) in row.iter() {
                while k < maybe.len() && maybe[k].0 < j {
                    emit_maybe(&mut seq, maybe[k].0, &maybe[k].1)?;
                    k += 1;
                }
                let possible = match maybe.get(k) {
                    Some((m, p)) if *m == j => {
                        k += 1;
                        Some(PortsJson::of(p))
                    }
                    _ => None,
                };
                seq.serialize_element(&ConnectionJson {
                    from: self.pods[i].ref_key(),
                    to: self.pods[j].ref_key(),
                    ports: PortsJson::of(ports),
                    possible,
                })?;
            }
            for (j, possible) in &maybe[k..] {
                emit_maybe(&mut seq, *j, possible)?;
            }
            Ok(())
        })?;
        seq.end()
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
    /// isolates it; only ipBlocks, and cluster policies' egress `networks`
    /// and `nodes` peers, match it).
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
    /// Set when more may be allowed than `ports`, depending on what could
    /// not be read or known (a namespace's labels, a pod's IP): the ports
    /// that may be allowed (a superset of `ports`). Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub possible: Option<PortsJson>,
}

/// Up to this many pods, pairs whose answer depends on what could not be
/// known are found and marked (each such pair is decided one by one); above
/// it only the warning says so.
const UNDECIDED_MAX: usize = 400;

/// Pod pairs whose answer could not be decided (see
/// `engine::verdict::Verdict::possible`): per source pod, the destinations
/// with the ports that may be allowed, destinations ascending.
#[derive(Default)]
pub struct Undecided {
    rows: Vec<Vec<(usize, PortSet)>>,
}

impl Undecided {
    /// Finds the undecided pairs among `pods` (only pairs with an end
    /// whose namespace was not read or that has no IP can be); empty when
    /// there are more than [`UNDECIDED_MAX`] pods or nothing can be.
    fn find(model: &Model<'_>, pods: &[&PodInfo]) -> Undecided {
        use crate::engine::verdict::{Endpoint, connection};
        if pods.len() > UNDECIDED_MAX {
            return Undecided::default();
        }
        let has_ip_blocks = model.has_ip_blocks();
        let tiers = crate::engine::tier::eval::any(model);
        let uncertain: Vec<bool> = pods
            .iter()
            .map(|p| {
                model.namespace(&p.namespace).is_none_or(|n| n.synthesized)
                    || (has_ip_blocks && p.ips.is_empty())
                    || (tiers && crate::engine::tier::eval::may_apply(model, p))
            })
            .collect();
        if !uncertain.iter().any(|u| *u) {
            return Undecided::default();
        }
        let rows = (0..pods.len())
            .map(|i| {
                (0..pods.len())
                    .filter(|&j| j != i && (uncertain[i] || uncertain[j]))
                    .filter_map(|j| {
                        let v = connection(model, &Endpoint::Pod(pods[i]), &Endpoint::Pod(pods[j]));
                        (v.possible != v.allowed).then_some((j, v.possible))
                    })
                    .collect()
            })
            .collect();
        Undecided { rows }
    }

    fn row(&self, i: usize) -> &[(usize, PortSet)] {
        self.rows.get(i).map_or(&[], Vec::as_slice)
    }

    fn len(&self) -> usize {
        self.rows.iter().map(Vec::len).sum()
    }
}

/// How many class rows, expanded to pods, each pass keeps: pods of one
/// workload are adjacent, so their class's row is computed once.
const ROW_CACHE: usize = 8;

/// The most pairs a block of rows computed on the pool may hold, counting
/// every row as full (one pair per other pod): the rows in flight, on top
/// of what each thread keeps ([`ROW_CACHE`] rows a pass).
const BLOCK_PAIRS: usize = 1 << 20;

/// The most rows in a block: enough to keep the threads busy between
/// two hand-overs, few enough that the first rows are written soon.
const BLOCK_ROWS: usize = 64;

/// The allowed ports from each pod in scope towards every other pod, one
/// source pod at a time ([`PodMatrix::row`], [`PodMatrix::rows`]); see
/// [`compute`]. Memory grows with the pods and the classes, never with
/// the pairs.
pub struct PodMatrix<'m, 's> {
    prepared: Prepared<'m, 's>,
    /// What [`PodMatrix::row`] computes with, on the calling thread.
    work: RowWork,
    /// One per thread of the pool [`PodMatrix::rows`] last used (empty
    /// until then), indexed by the thread's index in the pool.
    pool_work: Vec<Mutex<RowWork>>,
}

/// What every row is computed from, read only: shared by the threads
/// computing rows.
struct Prepared<'m, 's> {
    model: &'m Model<'s>,
    pods: &'m [&'m PodInfo],
    passes: Vec<Pass<'m, 's>>,
    node: NodeTraffic<'m>,
    /// The pods without a known IP, ascending, when the matrix has one pass
    /// per address family and cluster policies exist (else empty): see
    /// [`Prepared::row`].
    ipless: Vec<usize>,
}

/// The classes of the pods of one address family (or of every pod, when
/// the pods have at most one family).
struct Pass<'m, 's> {
    /// For each pod of the matrix, its index among this pass's pods
    /// (`u32::MAX`: not in this pass); None when the pass has every pod.
    local: Option<Vec<u32>>,
    /// This pass's pods, as indices into the matrix's pods (ascending);
    /// None when the pass has every pod.
    global: Option<Vec<u32>>,
    classes: Classes<'m>,
    rules: ClassRules<'m, 's>,
}

/// What one thread computes rows with: its port sets (a clone of the
/// ones the passes' rules were built with, grown by this thread alone),
/// per pass the memo and the recent class rows, and scratch space. Port
/// set ids are this thread's own.
struct RowWork {
    sets: PortSets,
    passes: Vec<PassWork>,
    near: Vec<usize>,
    row: Vec<(u32, u32)>,
    merged: Vec<(u32, u32)>,
}

/// One thread's memo and recent rows of one [`Pass`].
#[derive(Default)]
struct PassWork {
    memo: RowMemo,
    class_row: Vec<u32>,
    /// Recent class rows expanded to (pod, port set id), pods ascending;
    /// the most recently used last.
    cache: Vec<(usize, Vec<(u32, u32)>)>,
}

impl RowWork {
    fn new(passes: usize, sets: PortSets) -> RowWork {
        RowWork {
            sets,
            passes: (0..passes).map(|_| PassWork::default()).collect(),
            near: Vec::new(),
            row: Vec::new(),
            merged: Vec::new(),
        }
    }
}

impl Pass<'_, '_> {
    /// The row of `class` as (pod index in the matrix, port set id of
    /// `sets`), pods ascending, the pods of the class itself included.
    fn expanded<'w>(
        &self,
        work: &'w mut PassWork,
        sets: &mut PortSets,
        class: usize,
    ) -> &'w [(u32, u32)] {
        if let Some(k) = work.cache.iter().position(|(c, _)| *c == class) {
            let hit = work.cache.remove(k);
            work.cache.push(hit);
        } else {
            let mut list = if work.cache.len() >= ROW_CACHE {
                work.cache.remove(0).1
            } else {
                Vec::new()
            };
            list.clear();
            self.rules
                .row(class, &mut work.memo, sets, &mut work.class_row);
            let members = &self.classes.members;
            let open: usize = work
                .class_row
                .iter()
                .zip(members)
                .filter(|(id, _)| **id != PortSets::EMPTY)
                .map(|(_, m)| m.len())
                .sum();
            let global = |j: usize| match &self.global {
                Some(g) => g[j],
                None => j as u32,
            };
            let n = self.classes.class_of.len();
            if open.saturating_mul(8) > n {
                // Dense: every pod in order.
                for (j, &c) in self.classes.class_of.iter().enumerate() {
                    let id = work.class_row[c];
                    if id != PortSets::EMPTY {
                        list.push((global(j), id));
                    }
                }
            } else {
                for (b, &id) in work.class_row.iter().enumerate() {
                    if id != PortSets::EMPTY {
                        list.extend(members[b].iter().map(|&j| (global(j), id)));
                    }
                }
                list.sort_unstable_by_key(|&(j, _)| j);
            }
            work.cache.push((class, list));
        }
        work.cache
            .last()
            .map(|(_, l)| l.as_slice())
            .unwrap_or_default()
    }
}

/// One source pod's row: the pods it may connect to, ascending, with the
/// allowed ports.
pub struct Row<'r> {
    /// (destination, index into `sets`).
    pairs: &'r [(u32, u32)],
    sets: &'r [PortSet],
}

impl<'r> Row<'r> {
    /// (destination index, allowed ports), by destination.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (usize, &'r PortSet)> + 'r {
        let sets = self.sets;
        self.pairs
            .iter()
            .map(move |&(j, id)| (j as usize, &sets[id as usize]))
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

/// A row computed on a thread of the pool, with the port sets it uses
/// (its ids are indices into them), so that it outlives that thread's
/// next rows.
struct OwnedRow {
    pairs: Vec<(u32, u32)>,
    sets: Vec<PortSet>,
}

impl OwnedRow {
    fn of(row: &Row<'_>) -> OwnedRow {
        let mut ids: HashMap<u32, u32> = HashMap::new();
        let mut sets = Vec::new();
        let pairs = row
            .pairs
            .iter()
            .map(|&(j, id)| {
                let local = *ids.entry(id).or_insert_with(|| {
                    sets.push(row.sets[id as usize].clone());
                    (sets.len() - 1) as u32
                });
                (j, local)
            })
            .collect();
        OwnedRow { pairs, sets }
    }

    fn view(&self) -> Row<'_> {
        Row {
            pairs: &self.pairs,
            sets: &self.sets,
        }
    }
}

impl<'m, 's> PodMatrix<'m, 's> {
    /// The pods `i` may connect to (every pod but itself with at least one
    /// allowed port), ascending.
    pub fn row(&mut self, i: usize) -> Row<'_> {
        self.prepared.row(&mut self.work, i)
    }

    /// Hands every pod's row to `each` (`each(i, row)`), pods in order,
    /// and stops at its first error. With `pool`, the rows are computed
    /// on its threads a block at a time (at most 64 rows, and 2^20 pairs
    /// counting every row as full: `BLOCK_ROWS`, `BLOCK_PAIRS`), the next
    /// block while `each` takes the one before on this thread: two blocks
    /// in flight at most. The rows are those [`PodMatrix::row`] gives.
    pub fn rows<E>(
        &mut self,
        pool: Option<&rayon::ThreadPool>,
        mut each: impl FnMut(usize, Row<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        use rayon::prelude::*;
        let n = self.prepared.pods.len();
        let Some(pool) = pool.filter(|_| n > 1) else {
            for i in 0..n {
                each(i, self.row(i))?;
            }
            return Ok(());
        };
        let threads = pool.current_num_threads();
        if self.pool_work.len() != threads {
            let passes = self.prepared.passes.len();
            self.pool_work = (0..threads)
                .map(|_| Mutex::new(RowWork::new(passes, self.work.sets.clone())))
                .collect();
        }
        let (prepared, pool_work) = (&self.prepared, &self.pool_work);
        let block = (BLOCK_PAIRS / n).clamp(1, BLOCK_ROWS);
        let compute = move |start: usize| -> Vec<OwnedRow> {
            (start..n.min(start + block))
                .into_par_iter()
                .map(|i| {
                    // Each thread its own work (its index is below
                    // `threads`): the lock is never waited for.
                    let k = rayon::current_thread_index().unwrap_or_default() % threads;
                    let mut work = pool_work[k]
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    OwnedRow::of(&prepared.row(&mut work, i))
                })
                .collect()
        };
        pool.in_place_scope(|scope| {
            // A block is handed over when the one before has been taken
            // (`each` stopping ends the computing at the next block).
            let (blocks, done) = std::sync::mpsc::sync_channel(0);
            scope.spawn(move |_| {
                for start in (0..n).step_by(block) {
                    if blocks.send((start, compute(start))).is_err() {
                        break;
                    }
                }
            });
            for (start, rows) in done {
                for (i, row) in (start..).zip(&rows) {
                    each(i, row.view())?;
                }
            }
            Ok(())
        })
    }

    /// The pods the matrix is about, as given to [`compute`].
    pub fn pods(&self) -> &'m [&'m PodInfo] {
        self.prepared.pods
    }
}

impl Prepared<'_, '_> {
    /// Pod `i`'s row, computed with `work` (see [`PodMatrix::row`]).
    fn row<'w>(&self, work: &'w mut RowWork, i: usize) -> Row<'w> {
        let RowWork {
            sets,
            passes,
            near,
            row,
            merged,
        } = work;
        let model = self.model;
        row.clear();
        for (k, (pass, pass_work)) in self.passes.iter().zip(passes.iter_mut()).enumerate() {
            let local = match &pass.local {
                Some(l) if l[i] == u32::MAX => continue,
                Some(l) => l[i] as usize,
                None => i,
            };
            let class = pass.classes.class_of[local];
            let list = pass.expanded(pass_work, sets, class);
            let others = list.iter().copied().filter(|&(j, _)| j as usize != i);
            if k == 0 {
                row.extend(others);
            } else {
                // Dual-stack: a pair's ports are the union over the
                // families.
                merge(row, merged, others, |a, b| sets.union(a, b));
            }
        }
        // Pod <-> own node (a host-network pod on it): every port,
        // whatever the classes say.
        self.node.of(model, i, near);
        if !near.is_empty() {
            let all = near.iter().map(|&j| (j as u32, PortSets::ALL));
            merge(row, merged, all, |_, all| all);
        }
        // A pod whose address family is unknown (no IP) facing a pod of
        // several families: the family passes would union what each family
        // says, but a cluster policy Deny or Pass on one family's
        // `networks` does not become an allow because another family
        // would not match; such pairs (few: pending pods) are decided as
        // `can` decides them, addresses as they are.
        if !self.ipless.is_empty() {
            use crate::engine::verdict::{Endpoint, connection};
            let pods = self.pods;
            let redo: Vec<usize> = if self.ipless.binary_search(&i).is_ok() {
                (0..pods.len()).filter(|&j| j != i).collect()
            } else {
                self.ipless.clone()
            };
            row.retain(|(j, _)| !redo.contains(&(*j as usize)));
            let mut fresh = Vec::with_capacity(redo.len());
            for j in redo {
                let allowed =
                    connection(model, &Endpoint::Pod(pods[i]), &Endpoint::Pod(pods[j])).allowed;
                if !allowed.is_empty() {
                    fresh.push((j as u32, sets.intern(allowed)));
                }
            }
            merge(row, merged, fresh.into_iter(), |_, b| b);
        }
        Row {
            pairs: row,
            sets: sets.as_slice(),
        }
    }
}

/// Merges `other` into `row` (both by pod, ascending), through `scratch`:
/// a pod in both gets `both(row's id, other's id)`.
fn merge(
    row: &mut Vec<(u32, u32)>,
    scratch: &mut Vec<(u32, u32)>,
    other: impl Iterator<Item = (u32, u32)>,
    mut both: impl FnMut(u32, u32) -> u32,
) {
    scratch.clear();
    let mut mine = row.iter().copied().peekable();
    let mut other = other.peekable();
    loop {
        let next = match (mine.peek().copied(), other.peek().copied()) {
            (None, None) => break,
            (Some(a), None) => {
                mine.next();
                a
            }
            (None, Some(b)) => {
                other.next();
                b
            }
            (Some(a), Some(b)) if a.0 < b.0 => {
                mine.next();
                a
            }
            (Some(a), Some(b)) if a.0 > b.0 => {
                other.next();
                b
            }
            (Some(a), Some(b)) => {
                mine.next();
                other.next();
                (a.0, both(a.1, b.1))
            }
        };
        scratch.push(next);
    }
    std::mem::swap(row, scratch);
}

/// Prepares the matrix of `pods` and hands it to `f`: pods are grouped
/// into classes (see [`Classes`]) and each rule's peers matched against
/// them once; rows are then computed as `f` asks for them.
pub fn compute<'s, R>(
    model: &Model<'s>,
    pods: &[&PodInfo],
    f: impl FnOnce(&mut PodMatrix<'_, 's>) -> R,
) -> R {
    use crate::engine::verdict::{Family, narrowed};
    use std::collections::BTreeSet;
    let present: BTreeSet<Family> = pods
        .iter()
        .flat_map(|p| p.ips.iter().map(Family::of))
        .collect();
    let mut sets = PortSets::new();
    if present.len() <= 1 {
        let classes = Classes::build(model, pods);
        let rules = ClassRules::new(model, &classes, &mut sets);
        let passes = vec![Pass {
            local: None,
            global: None,
            classes,
            rules,
        }];
        return run_matrix(model, pods, passes, sets, f);
    }
    // Dual-stack: a connection uses one family, and each side's ipBlocks
    // see the other end's address of that family only (see
    // verdict::connection). One pass per family over the pods that have
    // an address of it (or none known), narrowed to it; a pair's ports are
    // the union over the passes.
    let families: Vec<(Vec<u32>, Vec<PodInfo>)> = present
        .into_iter()
        .map(|family| {
            let keep: Vec<u32> = (0..pods.len())
                .filter(|&i| {
                    pods[i].ips.is_empty() || pods[i].ips.iter().any(|ip| Family::of(ip) == family)
                })
                .map(|i| i as u32)
                .collect();
            let owned = keep
                .iter()
                .map(|&i| narrowed(pods[i as usize], family))
                .collect();
            (keep, owned)
        })
        .collect();
    let views: Vec<Vec<&PodInfo>> = families.iter().map(|(_, o)| o.iter().collect()).collect();
    let mut passes = Vec::new();
    for ((keep, _), view) in families.iter().zip(&views) {
        let classes = Classes::build(model, view);
        let rules = ClassRules::new(model, &classes, &mut sets);
        let mut local = vec![u32::MAX; pods.len()];
        for (k, &i) in keep.iter().enumerate() {
            local[i as usize] = k as u32;
        }
        passes.push(Pass {
            local: Some(local),
            global: Some(keep.clone()),
            classes,
            rules,
        });
    }
    run_matrix(model, pods, passes, sets, f)
}

fn run_matrix<'m, 's, R>(
    model: &'m Model<'s>,
    pods: &'m [&'m PodInfo],
    passes: Vec<Pass<'m, 's>>,
    sets: PortSets,
    f: impl FnOnce(&mut PodMatrix<'_, 's>) -> R,
) -> R {
    let ipless = if passes.len() > 1 && crate::engine::tier::eval::any(model) {
        (0..pods.len())
            .filter(|&i| pods[i].ips.is_empty())
            .collect()
    } else {
        Vec::new()
    };
    let work = RowWork::new(passes.len(), sets);
    let mut matrix = PodMatrix {
        prepared: Prepared {
            model,
            pods,
            ipless,
            passes,
            node: NodeTraffic::new(model, pods),
        },
        work,
        pool_work: Vec::new(),
    };
    f(&mut matrix)
}

/// Runs the command; the answer is written to `out` as it is made (a
/// large matrix is never held in memory).
pub fn run(ctx: &Context, _args: &MatrixArgs, out: &mut dyn Output) -> Result<Outcome, Error> {
    // NETPOL_THREADS, as `-f`'s reading takes it: refused before any read.
    let threads = Parallel::from_env()?;
    // The enforcement caveat `list` and `explain` print, read alongside.
    let (snapshot, enforcement) = ctx.snapshot_with_warning(Plan::Scope {
        workloads: true,
        namespaces: Need::IfReadable,
        services: false,
    })?;
    let model = Model::new(&snapshot, &ctx.default_namespace());
    // -l: the pods of the matrix, by their labels (policies still select
    // and admit every pod, as in the cluster).
    let selector = ctx.selector()?;
    let pods: Vec<&PodInfo> = snapshot
        .pods
        .iter()
        .filter(|p| ctx.in_scope(&p.namespace))
        .filter(|p| selector.as_ref().is_none_or(|s| s.matches(&p.labels)))
        .collect();
    let mut namespaces: Vec<&str> = pods.iter().map(|p| p.namespace.as_str()).collect();
    namespaces.dedup();
    let warnings = require_valid(&model, &namespaces)?;
    let mut warnings = warnings;
    warnings.extend(matrix_caveats(&model, &pods));
    // Workloads without pods stand as one pod each: unknown when their
    // kinds could not be listed.
    for (ns, kinds, why) in snapshot.gaps.workload_gaps() {
        warnings.push(format!(
            "warning: the {} {} could not be listed ({}): those without pods (each stands as one pod without IP) are not shown",
            kinds_text(&kinds),
            if ns == "*" {
                "of the namespaces read".to_string()
            } else {
                format!("of namespace {ns}")
            },
            why.lines().next().unwrap_or_default()
        ));
    }
    warnings.extend(enforcement);
    warnings.extend(snapshot.gaps.cluster_policy_warning());
    let format = ctx.format();
    if !matches!(format, OutputFormat::Json | OutputFormat::Yaml) && pods.is_empty() {
        let mut o = Outcome::ok(String::new());
        o.warnings = warnings;
        o.warnings.push(match ctx.scope() {
            Some(ns) => format!("No pods found in {ns} namespace."),
            None => "No pods found".to_string(),
        });
        return Ok(o);
    }
    // Pairs whose answer hangs on what could not be known: marked, never
    // shown as "nothing allowed".
    let undecided = Undecided::find(&model, &pods);
    let undefined = Undefined::find(&model, &pods, &undecided);
    out.warnings(&warnings);
    let pool = if pods.len() > POOL_PODS {
        threads.pool()
    } else {
        None
    };
    let stdout = out.stdout();
    let written = compute(&model, &pods, |matrix| match format {
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
                    matrix: RefCell::new(matrix),
                    pool,
                    undecided: &undecided,
                },
                cluster_policies_read: snapshot.gaps.cluster_policies_read(),
            };
            if format == OutputFormat::Json {
                write_json(stdout, &report)
            } else {
                write_yaml(stdout, &report)
            }
        }
        // Wide and Name are refused by `Cli::check_flags`.
        OutputFormat::Text | OutputFormat::Wide | OutputFormat::Name => {
            if ctx.no_headers() {
                // A grid means nothing without its headers: the pairs
                // that may connect, one per line.
                write_list(stdout, &pods, matrix, pool, &undecided, &undefined, false)
            } else if pods.len() <= GRID_MAX {
                stdout.write_all(
                    render_grid(&pods, matrix, &undecided, &undefined, ctx.palette).as_bytes(),
                )
            } else {
                write_list(stdout, &pods, matrix, pool, &undecided, &undefined, true)
            }
        }
    });
    written.map_err(Error::Output)?;
    Ok(Outcome::ok(String::new()))
}

fn pod_label(p: &PodInfo) -> String {
    if p.on_host_network() {
        format!("{} (host network)", clean(&p.ref_key()))
    } else {
        clean(&p.ref_key())
    }
}

fn ports_text(ports: &PortSet) -> String {
    if ports.is_all() {
        "all".to_string()
    } else {
        ports.to_strings().join(", ")
    }
}

/// Ports that may be allowed, in a sentence (`every port`, `TCP/80, ...`).
fn maybe_text(ports: &PortSet) -> String {
    if ports.is_all() {
        "every port".to_string()
    } else {
        ports.to_strings().join(", ")
    }
}

/// Of the undecided pairs, those with ports whose answer is undefined:
/// cluster policies the API puts in no order decide them differently
/// (equal priorities, or the BaselineAdminNetworkPolicy against Baseline
/// ClusterNetworkPolicies). Only for the legend's words: which `?` is
/// unknown (what could not be read) and which undefined.
#[derive(Default)]
struct Undefined {
    /// The undefined ports per pair, and whether other ports of the pair
    /// are unknown (hang on what could not be read).
    pairs: std::collections::HashMap<(usize, usize), (PortSet, bool)>,
}

impl Undefined {
    fn find(model: &Model<'_>, pods: &[&PodInfo], undecided: &Undecided) -> Undefined {
        use crate::engine::verdict::{Endpoint, connection};
        let mut out = Undefined::default();
        if !crate::engine::tier::eval::any(model) {
            return out;
        }
        for i in 0..pods.len() {
            for (j, _) in undecided.row(i) {
                let v = connection(model, &Endpoint::Pod(pods[i]), &Endpoint::Pod(pods[*j]));
                let ports = v.undefined();
                if !ports.is_empty() {
                    let unknown = !v.possible.subtract(&v.allowed).subtract(&ports).is_empty();
                    out.pairs.insert((i, *j), (ports, unknown));
                }
            }
        }
        out
    }

    fn get(&self, i: usize, j: usize) -> Option<&(PortSet, bool)> {
        self.pairs.get(&(i, j))
    }
}

/// What a `?` means for a pair whose `possible` ports may be allowed,
/// `undefined` of them undefined (see [`Undefined`]): `unknown: ...` when
/// they hang on what could not be read, `undefined: ...` when on cluster
/// policies in no defined order.
fn maybe_words(possible: &PortSet, undefined: Option<&(PortSet, bool)>) -> String {
    let ports = maybe_text(possible);
    match undefined {
        None => format!(
            "unknown: {ports} may be allowed, depending on what is not known (a namespace's labels not read, a pod without IP, a domain name; `kubectl netpol can` says which)"
        ),
        Some((u, unknown)) => format!(
            "{}: {ports} may be allowed; on {} {} decide differently, and the API leaves the outcome to the implementation{}",
            if *unknown {
                "unknown or undefined"
            } else {
                "undefined"
            },
            maybe_text(u),
            crate::cmd::can::UNDEFINED_CAUSE,
            if *unknown {
                "; the other ports depend on what is not known (`kubectl netpol can` says what)"
            } else {
                ""
            }
        ),
    }
}

fn render_grid(
    pods: &[&PodInfo],
    matrix: &mut PodMatrix<'_, '_>,
    undecided: &Undecided,
    undefined: &Undefined,
    pal: Palette,
) -> String {
    let n = pods.len();
    let mut cells = vec![vec![pal.dim("-"); n]; n];
    let mut legend: Vec<String> = Vec::new();
    for (i, row) in cells.iter_mut().enumerate() {
        row[i] = pal.dim("self");
    }
    for (i, cells_i) in cells.iter_mut().enumerate() {
        for (j, ports) in matrix.row(i).iter() {
            cells_i[j] = if ports.is_all() {
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
    }
    // More may be allowed: the cell says so with `?`, the legend what.
    let mut maybe_legend: Vec<String> = Vec::new();
    for (i, cells_i) in cells.iter_mut().enumerate() {
        for (j, possible) in undecided.row(i) {
            let text = maybe_words(possible, undefined.get(i, *j));
            let k = match maybe_legend.iter().position(|l| *l == text) {
                Some(k) => k,
                None => {
                    maybe_legend.push(text);
                    maybe_legend.len() - 1
                }
            };
            cells_i[*j] = format!("{}{}", cells_i[*j], pal.warn(&format!("?{}", k + 1)));
        }
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
    for (k, l) in maybe_legend.iter().enumerate() {
        out.push_str(&format!("?{} = {l}\n", k + 1));
    }
    out
}

/// The list form, written line by line as [`table`] would lay it out: a
/// first pass over the rows finds the columns' widths and the count, the
/// second writes (the rows computed on `pool` when given:
/// [`PodMatrix::rows`]). Without `headers` (`--no-headers`): the pairs
/// alone, no header line and no count below.
#[allow(clippy::too_many_arguments)]
fn write_list(
    out: &mut dyn Write,
    pods: &[&PodInfo],
    matrix: &mut PodMatrix<'_, '_>,
    pool: Option<&rayon::ThreadPool>,
    undecided: &Undecided,
    undefined: &Undefined,
    headers: bool,
) -> std::io::Result<()> {
    let labels: Vec<String> = pods.iter().map(|p| pod_label(p)).collect();
    let mut is_to = vec![false; pods.len()];
    let mut from_width = if headers { visible_width("FROM") } else { 0 };
    let mut pairs = 0usize;
    let Ok(()) = matrix.rows(pool, |i, row| -> Result<(), std::convert::Infallible> {
        let maybe = undecided.row(i);
        if row.is_empty() && maybe.is_empty() {
            return Ok(());
        }
        pairs += row.len();
        from_width = from_width.max(visible_width(&labels[i]));
        for (j, _) in row.iter() {
            is_to[j] = true;
        }
        for (j, _) in maybe {
            is_to[*j] = true;
        }
        Ok(())
    });
    let unknown = undecided.len();
    let to_width = labels
        .iter()
        .zip(&is_to)
        .filter(|(_, to)| **to)
        .map(|(l, _)| visible_width(l))
        .fold(if headers { visible_width("TO") } else { 0 }, usize::max);
    let mut line = String::new();
    let mut write_line = |out: &mut dyn Write, from: &str, to: &str, ports: &str| {
        line.clear();
        line.push_str(from);
        line.push_str(&" ".repeat(from_width - visible_width(from) + 3));
        line.push_str(to);
        line.push_str(&" ".repeat(to_width - visible_width(to) + 3));
        line.push_str(ports);
        // An empty last cell must not leave padding behind.
        let kept = line.trim_end_matches(' ').len();
        line.truncate(kept);
        line.push('\n');
        out.write_all(line.as_bytes())
    };
    if pairs + unknown > 0 {
        if headers {
            write_line(out, "FROM", "TO", "PORTS")?;
        }
        matrix.rows(pool, |i, row| -> std::io::Result<()> {
            // Allowed pairs and undecided ones, by destination.
            let mut cells: Vec<(usize, String)> = row
                .iter()
                .map(|(j, ports)| (j, ports_text(ports)))
                .collect();
            for (j, possible) in undecided.row(i) {
                let more = match undefined.get(i, *j) {
                    None => format!("unknown: {} may be allowed", maybe_text(possible)),
                    Some((u, unknown)) => format!(
                        "{}undefined on {}: {} may be allowed",
                        if *unknown { "unknown, and " } else { "" },
                        maybe_text(u),
                        maybe_text(possible)
                    ),
                };
                match cells.iter_mut().find(|(k, _)| k == j) {
                    Some((_, text)) => *text = format!("{text} ({more})"),
                    None => cells.push((*j, format!("none for certain ({more})"))),
                }
            }
            cells.sort_by_key(|(j, _)| *j);
            for (j, text) in cells {
                write_line(out, &labels[i], &labels[j], &text)?;
            }
            Ok(())
        })?;
    }
    if !headers {
        return Ok(());
    }
    let total = pods.len() * (pods.len() - 1);
    writeln!(
        out,
        "\n{} pods; {} of {} ordered pairs may connect; the other {} may not connect on any port{}.",
        pods.len(),
        pairs,
        total,
        total - pairs,
        match (unknown, undefined.pairs.len()) {
            (0, _) => String::new(),
            (_, 0) =>
                format!(" for certain ({unknown} unknown: they hang on what could not be read)"),
            (_, u) => format!(
                " for certain ({unknown} unknown: they hang on what could not be read, or, for {u} of them, on {}: undefined by the API)",
                crate::cmd::can::UNDEFINED_CAUSE
            ),
        }
    )
}

/// What the matrix cannot know, as warnings for stderr.
fn matrix_caveats(model: &Model<'_>, pods: &[&PodInfo]) -> Vec<String> {
    let mut out = Vec::new();
    let has_ip_blocks = model.has_ip_blocks();
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
        .map(|p| p.ref_key())
        .collect();
    if !host.is_empty() {
        out.push(format!(
            "note: host-network pods ({}) are treated as their node's address: no policy isolates them, only {} match them, and traffic between them and pods on the same node is always allowed (the API leaves host-network pods undefined; most CNIs behave this way)",
            host.join(", "),
            crate::cmd::tiers::address_peers(model.snapshot)
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

/// `Deployments`, `Deployments and Jobs`, `Deployments, Jobs and
/// ReplicationControllers`: workload kinds in messages.
pub fn kinds_text(kinds: &[String]) -> String {
    let plural: Vec<String> = kinds.iter().map(|k| format!("{k}s")).collect();
    match plural.split_last() {
        None => "workloads".to_string(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}
