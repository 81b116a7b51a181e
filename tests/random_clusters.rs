//! Randomised cross-checks of the fast paths against the plain definitions.
//!
//! The matrix (pod classes, interned port sets, peers resolved through the
//! namespace and IP indexes) and `Model::peer_pods` are optimisations; the
//! definition is `verdict::connection` for one pair and `peer_matches` for
//! one pod. Seeded random clusters (namespaces with labels, pods with
//! labels, named ports and IPs, policies with every peer and port shape)
//! must give exactly the same answers both ways. Some pods run on named
//! nodes with host IPs, some use the host network (their IP is the node's),
//! so node traffic and host-network pods are checked the same way.
//! Dual-stack and IPv6-only pods with IPv4 and IPv6 ipBlocks check that a
//! connection is decided per address family the same way both ways.
//! Deterministic: a failure
//! names the seed, and `NETPOL_RANDOM_CLUSTERS=N` runs more of them.

use std::fmt::Write as _;

use netpol::engine::Model;
use netpol::engine::policy::Direction;
use netpol::engine::verdict::{Endpoint, connection, peer_matches};
use netpol::snapshot::PodInfo;
use netpol::source::files::{Parallel, Reading, load_str, read_str_with};

/// xorshift64*: small, seeded, good enough to shuffle fixtures.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// How many random clusters a test tries: `NETPOL_RANDOM_CLUSTERS`, or 400.
fn random_runs() -> u64 {
    std::env::var("NETPOL_RANDOM_CLUSTERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400)
}

/// The binary's stdout, stderr and exit code for `args`, with
/// `NETPOL_NARROW=narrow` (`0`: every document read in full).
fn run_narrow(args: &[&str], narrow: &str) -> (String, String, Option<i32>) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-netpol"))
        .args(args)
        .env("NETPOL_NARROW", narrow)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

const NAMESPACES: &[&str] = &["a", "b", "c", "d"];
const APPS: &[&str] = &["web", "api", "db", "dns"];
const TIERS: &[&str] = &["front", "back"];
const PORTS: &[(&str, u16, &str)] = &[
    ("http", 80, "TCP"),
    ("http", 8080, "TCP"),
    ("metrics", 9090, "TCP"),
    ("dns", 53, "UDP"),
    ("dns-tcp", 53, "TCP"),
    ("grpc", 9000, "TCP"),
    ("sctp", 7000, "SCTP"),
];

fn labels(rng: &mut Rng) -> String {
    let mut l = vec![format!("app: {}", rng.pick(APPS))];
    if rng.chance(60) {
        l.push(format!("tier: {}", rng.pick(TIERS)));
    }
    format!("{{{}}}", l.join(", "))
}

fn selector(rng: &mut Rng, keys: &[(&str, &[&str])]) -> String {
    match rng.below(6) {
        0 => "{}".into(),
        1 | 2 => {
            let (k, vs) = rng.pick(keys);
            format!("{{matchLabels: {{{k}: {}}}}}", rng.pick(vs))
        }
        3 => {
            let (k, vs) = rng.pick(keys);
            let op = *rng.pick(&["In", "NotIn"]);
            format!(
                "{{matchExpressions: [{{key: {k}, operator: {op}, values: [{}, {}]}}]}}",
                rng.pick(vs),
                rng.pick(vs)
            )
        }
        4 => {
            let (k, _) = rng.pick(keys);
            let op = *rng.pick(&["Exists", "DoesNotExist"]);
            format!("{{matchExpressions: [{{key: {k}, operator: {op}}}]}}")
        }
        _ => {
            let (k, vs) = rng.pick(keys);
            let (k2, vs2) = rng.pick(keys);
            format!(
                "{{matchLabels: {{{k}: {}}}, matchExpressions: [{{key: {k2}, operator: In, values: [{}]}}]}}",
                rng.pick(vs),
                rng.pick(vs2)
            )
        }
    }
}

const POD_KEYS: &[(&str, &[&str])] = &[("app", APPS), ("tier", TIERS)];
const NS_KEYS: &[(&str, &[&str])] = &[
    ("team", &["red", "blue"]),
    ("env", &["prod", "dev"]),
    ("kubernetes.io/metadata.name", NAMESPACES),
];

/// The `host`th address of namespace `ns`'s range 10.`ns`.0.0/16
/// (10.`ns`.0.`host` below 256).
fn ip(ns: usize, host: usize) -> String {
    format!("10.{ns}.{}.{}", host / 256, host % 256)
}

fn peer(rng: &mut Rng) -> String {
    match rng.below(8) {
        5 => "{ipBlock: {cidr: 192.168.0.0/24, except: [192.168.0.2/32]}}".into(),
        // Dual-stack: the pods' IPv6 addresses are fd00::N.
        6 => "{ipBlock: {cidr: \"fd00::/120\", except: [\"fd00::4/126\"]}}".into(),
        7 => "{ipBlock: {cidr: \"::/0\"}}".into(),
        0 => format!("{{podSelector: {}}}", selector(rng, POD_KEYS)),
        1 => format!("{{namespaceSelector: {}}}", selector(rng, NS_KEYS)),
        2 => format!(
            "{{namespaceSelector: {}, podSelector: {}}}",
            selector(rng, NS_KEYS),
            selector(rng, POD_KEYS)
        ),
        3 => {
            let n = rng.below(NAMESPACES.len());
            if rng.chance(50) {
                format!(
                    "{{ipBlock: {{cidr: 10.{n}.0.0/16, except: [{}/32, 10.{n}.0.{}/30]}}}}",
                    ip(n, 1 + rng.below(8)),
                    4 * rng.below(2)
                )
            } else {
                format!("{{ipBlock: {{cidr: 10.{n}.0.0/24}}}}")
            }
        }
        _ => "{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/16]}}".into(),
    }
}

fn ports(rng: &mut Rng) -> Option<String> {
    if rng.chance(30) {
        return None;
    }
    let mut out = Vec::new();
    for _ in 0..1 + rng.below(2) {
        let (name, num, proto) = *rng.pick(PORTS);
        out.push(match rng.below(4) {
            0 => format!("{{port: {name}, protocol: {proto}}}"),
            1 => format!("{{port: {num}, protocol: {proto}}}"),
            2 => format!("{{port: {num}, endPort: {}}}", num + 100),
            _ => format!("{{protocol: {proto}}}"),
        });
    }
    Some(format!("[{}]", out.join(", ")))
}

fn rules(rng: &mut Rng, field: &str) -> String {
    let mut out = String::new();
    for _ in 0..rng.below(3) {
        out.push_str("  - ");
        let mut parts = Vec::new();
        if !rng.chance(15) {
            let peers: Vec<String> = (0..1 + rng.below(2)).map(|_| peer(rng)).collect();
            parts.push(format!("{field}: [{}]", peers.join(", ")));
        }
        if let Some(p) = ports(rng) {
            parts.push(format!("ports: {p}"));
        }
        if parts.is_empty() {
            out.push_str("{}\n");
        } else {
            out.push_str(&parts.join("\n    "));
            out.push('\n');
        }
    }
    out
}

fn cluster(seed: u64) -> String {
    cluster_of(seed, 2, 10)
}

/// [`cluster`] with `least` pods and up to `spread - 1` more.
fn cluster_of(seed: u64, least: usize, spread: usize) -> String {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut y = String::new();
    for ns in NAMESPACES {
        if rng.chance(80) {
            let team = *rng.pick(&["red", "blue"]);
            let env = *rng.pick(&["prod", "dev"]);
            writeln!(
                y,
                "---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}, labels: {{team: {team}, env: {env}}}}}"
            )
            .unwrap();
        }
    }
    for i in 0..least + rng.below(spread) {
        let n = rng.below(NAMESPACES.len());
        let mut ports = Vec::new();
        for _ in 0..rng.below(3) {
            let (name, num, proto) = *rng.pick(PORTS);
            ports.push(format!(
                "{{name: {name}, containerPort: {num}, protocol: {proto}}}"
            ));
        }
        // Node 1 or 2 (address 192.168.0.N), or not scheduled; a pod on a
        // node may use the host network (its IP is then the node's).
        let node = rng.below(3);
        let host_network = node > 0 && rng.chance(20);
        let node_spec = if node > 0 {
            format!("nodeName: n{node}, ")
        } else {
            String::new()
        };
        let host_ip = if node > 0 && (host_network || rng.chance(70)) {
            format!(", hostIP: 192.168.0.{node}")
        } else {
            String::new()
        };
        let status = if host_network {
            format!("\nstatus: {{podIP: 192.168.0.{node}{host_ip}}}")
        } else {
            match rng.below(6) {
                0 => String::new(),
                // IPv6 only.
                5 => format!("\nstatus: {{podIP: \"fd00::{i}\"{host_ip}}}"),
                1 => format!(
                    "\nstatus: {{podIP: {}, podIPs: [{{ip: {}}}, {{ip: \"fd00::{i}\"}}]{host_ip}}}",
                    ip(n, 1 + i),
                    ip(n, 1 + i)
                ),
                _ => format!("\nstatus: {{podIP: {}{host_ip}}}", ip(n, 1 + i)),
            }
        };
        writeln!(
            y,
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: {}, labels: {}}}\nspec: {{{node_spec}hostNetwork: {host_network}, containers: [{{name: c, image: x, ports: [{}]}}]}}{status}",
            NAMESPACES[n],
            labels(&mut rng),
            ports.join(", ")
        )
        .unwrap();
    }
    for i in 0..rng.below(7) {
        let ns = rng.pick(NAMESPACES);
        let types = *rng.pick(&[
            "",
            "policyTypes: [Ingress]\n",
            "policyTypes: [Egress]\n",
            "policyTypes: [Ingress, Egress]\n",
        ]);
        let ingress = rules(&mut rng, "from");
        let egress = rules(&mut rng, "to");
        write!(
            y,
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: np{i}, namespace: {ns}}}\nspec:\n  podSelector: {}\n",
            selector(&mut rng, POD_KEYS)
        )
        .unwrap();
        for line in types.lines() {
            writeln!(y, "  {line}").unwrap();
        }
        if !ingress.is_empty() || rng.chance(30) {
            writeln!(y, "  ingress:").unwrap();
            for line in ingress.lines() {
                writeln!(y, "  {line}").unwrap();
            }
            if ingress.is_empty() {
                y.truncate(y.len() - "  ingress:\n".len());
                writeln!(y, "  ingress: []").unwrap();
            }
        }
        if !egress.is_empty() {
            writeln!(y, "  egress:").unwrap();
            for line in egress.lines() {
                writeln!(y, "  {line}").unwrap();
            }
        }
    }
    y
}

#[test]
fn matrix_and_peer_resolution_agree_with_the_definitions_on_random_clusters() {
    let runs = random_runs();
    let (mut pairs, mut peers, mut allowed_pairs, mut policies) = (0, 0, 0, 0);
    let (mut node_pairs, mut host_network_pairs, mut per_family) = (0, 0, 0);
    for seed in 1..=runs {
        let yaml = cluster(seed);
        let snap = load_str("random.yaml", &yaml, "default")
            .unwrap_or_else(|e| panic!("seed {seed}: fixture does not load: {e}\n{yaml}"));
        let model = Model::new(&snap, "default");
        assert!(
            model.invalid.is_empty(),
            "seed {seed}: invalid fixture policy: {:?}\n{yaml}",
            model.invalid
        );
        policies += model.policies.len();
        let pods: Vec<&PodInfo> = snap.pods.iter().collect();
        // Every row, in any order (the rows are computed on demand; reverse
        // order defeats the cache of recent rows), then again forwards.
        let mut fast = std::collections::HashMap::new();
        netpol::cmd::matrix::compute(&model, &pods, |matrix| {
            let mut forwards = Vec::new();
            for i in (0..pods.len()).rev().chain(0..pods.len()) {
                let row = matrix.row(i);
                let got: Vec<(usize, Vec<String>)> =
                    row.iter().map(|(j, p)| (j, p.to_strings())).collect();
                assert!(
                    got.windows(2).all(|w| w[0].0 < w[1].0),
                    "seed {seed}: row {i} not ascending: {got:?}"
                );
                for (j, ports) in row.iter() {
                    assert!(
                        i != j && !ports.is_empty(),
                        "seed {seed}: row {i}: {j} {ports:?}"
                    );
                    fast.insert((i, j), ports.clone());
                }
                forwards.push(got);
            }
            // The same row whenever it is asked for.
            let (back, fwd) = forwards.split_at(pods.len());
            let back: Vec<_> = back.iter().rev().collect();
            assert!(
                back.iter().zip(fwd).all(|(a, b)| *a == b),
                "seed {seed}: rows differ between asks"
            );
        });
        for (i, a) in pods.iter().enumerate() {
            for (j, b) in pods.iter().enumerate() {
                if i == j {
                    continue;
                }
                let verdict = connection(&model, &Endpoint::Pod(a), &Endpoint::Pod(b));
                node_pairs += usize::from(verdict.node.is_some());
                per_family += usize::from(verdict.families.is_some());
                host_network_pairs += usize::from(a.host_network || b.host_network);
                let direct = verdict.allowed;
                let got = fast.remove(&(i, j)).unwrap_or_default();
                assert_eq!(
                    got.to_strings(),
                    direct.to_strings(),
                    "seed {seed}: matrix {} -> {} differs from connection()\n{yaml}",
                    a.key(),
                    b.key()
                );
                pairs += 1;
                allowed_pairs += usize::from(!direct.is_empty());
            }
        }
        assert!(
            fast.is_empty(),
            "seed {seed}: pairs beyond the pods: {fast:?}"
        );
        for p in &model.policies {
            for d in Direction::BOTH {
                for rule in p.rules(d).unwrap_or_default() {
                    for peer in rule.peers.iter().flatten() {
                        let want: Vec<String> = snap
                            .pods
                            .iter()
                            .filter(|pod| peer_matches(&model, peer, &Endpoint::Pod(pod)).0)
                            .map(|pod| pod.key())
                            .collect();
                        let got: Vec<String> =
                            model.peer_pods(peer).iter().map(|p| p.key()).collect();
                        assert_eq!(got, want, "seed {seed}: peer_pods({peer:?})\n{yaml}");
                        peers += 1;
                    }
                }
            }
        }
    }
    // The generator must produce clusters where the answers are not trivial.
    assert!(policies > runs as usize, "too few policies: {policies}");
    assert!(peers > runs as usize, "too few peers: {peers}");
    assert!(
        allowed_pairs > pairs / 10 && allowed_pairs < pairs * 9 / 10,
        "the random clusters are all open or all closed: {allowed_pairs} of {pairs} pairs allowed"
    );
    assert!(
        per_family > runs as usize,
        "too few pairs decided per address family: {per_family}"
    );
    assert!(
        node_pairs > runs as usize / 4 && host_network_pairs > node_pairs,
        "too few node-traffic pairs ({node_pairs}) or host-network pairs ({host_network_pairs})"
    );
    eprintln!(
        "{runs} clusters: {pairs} pairs, {allowed_pairs} allowed, {peers} peers, {node_pairs} node-traffic pairs, {host_network_pairs} with a host-network pod, {per_family} decided per address family"
    );
}

/// The sample addresses the diff's external ranges are checked at: inside
/// and outside the generator's ipBlocks (not the nodes' 192.168.0.1-2,
/// whose traffic to their own pods is always allowed).
const SAMPLE_ADDRESSES: &[&str] = &[
    "0.0.0.1",
    "8.8.8.8",
    "10.0.0.5",
    "10.1.0.1",
    "10.2.0.4",
    "10.3.0.9",
    "10.0.200.1",
    "192.168.0.9",
    "192.168.0.200",
    "fd00::2",
    "fd00::5",
    "fd00::1ff",
    "2001:db8::1",
];

/// Whether `ip` is in a range as the diff prints it: `A/n, B/m` or
/// `A/n except B/m, C/k`.
fn in_range(text: &str, ip: std::net::IpAddr) -> bool {
    let nets = |s: &str| -> Vec<ipnet::IpNet> {
        s.split(", ").map(|n| n.trim().parse().unwrap()).collect()
    };
    match text.split_once(" except ") {
        Some((base, holes)) => {
            nets(base).iter().any(|n| n.contains(&ip))
                && !nets(holes).iter().any(|n| n.contains(&ip))
        }
        None => nets(text).iter().any(|n| n.contains(&ip)),
    }
}

/// A second version of a random cluster: some policies dropped, some
/// added or replaced from another seed, some pods relabelled, one pod
/// deleted, one added, a namespace relabelled.
fn changed(seed: u64, old: &netpol::snapshot::Snapshot) -> netpol::snapshot::Snapshot {
    let other = load_str("other.yaml", &cluster(seed + 100_000), "default").unwrap();
    let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1);
    let mut new = old.clone();
    new.policies.retain(|_| !rng.chance(30));
    for p in &other.policies {
        if rng.chance(50) {
            new.policies.retain(|q| {
                (&q.metadata.namespace, &q.metadata.name)
                    != (&p.metadata.namespace, &p.metadata.name)
            });
            new.policies.push(p.clone());
        }
    }
    let labels: Vec<_> = other.pods.iter().map(|p| p.labels.clone()).collect();
    for p in &mut new.pods {
        if rng.chance(20) && !labels.is_empty() {
            p.labels = rng.pick(&labels).clone();
        }
    }
    if rng.chance(30) && !new.pods.is_empty() {
        let i = rng.below(new.pods.len());
        new.pods.remove(i);
    }
    if rng.chance(40) && !other.pods.is_empty() {
        let mut p = rng.pick(&other.pods).clone();
        p.name = format!("q{}", p.name);
        new.pods.push(p);
    }
    if rng.chance(30) {
        let i = rng.below(new.namespaces.len());
        let team = rng.pick(&["red", "blue", "green"]).to_string();
        new.namespaces[i].labels.insert("team".into(), team);
    }
    new.pods
        .sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    new.policies.sort_by(|a, b| {
        (&a.metadata.namespace, &a.metadata.name).cmp(&(&b.metadata.namespace, &b.metadata.name))
    });
    new
}

#[test]
fn diff_agrees_with_the_definition_on_random_clusters() {
    use netpol::engine::verdict::Family;
    let runs = random_runs();
    let (mut changes, mut external, mut unchanged, mut single) = (0, 0, 0, 0);
    for seed in 1..=runs {
        let yaml = cluster(seed);
        let mut old = load_str("random.yaml", &yaml, "default").unwrap();
        let mut new = changed(seed, &old);
        // Every other seed single-stack (IPv4 only): the class path;
        // otherwise the row path.
        if seed % 2 == 0 {
            single += 1;
            for s in [&mut old, &mut new] {
                for p in &mut s.pods {
                    p.ips.retain(|ip| Family::of(ip) == Family::V4);
                }
            }
        }
        let mut n = DiffCounts::default();
        check_diff(seed, &yaml, &old, &new, &mut n);
        changes += n.changes;
        external += n.external;
        unchanged += n.unchanged;
    }
    assert!(changes > runs as usize, "too few changes: {changes}");
    assert!(
        external > runs as usize,
        "too few external changes: {external}"
    );
    assert!(unchanged > changes, "the random changes change everything");
    eprintln!(
        "{runs} cluster pairs ({single} single-stack): {changes} changed pairs, {unchanged} unchanged, {external} external changes at sample addresses"
    );
}

/// What [`check_diff`] saw.
#[derive(Default)]
struct DiffCounts {
    changes: usize,
    external: usize,
    unchanged: usize,
}

/// `diff(old, new)` against the definition (`connection` on both sides,
/// pair by pair and at sample addresses), its reasons against
/// `pair_reasons`, its undecided pairs against `possible`.
fn check_diff(
    seed: u64,
    yaml: &str,
    old: &netpol::snapshot::Snapshot,
    new: &netpol::snapshot::Snapshot,
    n: &mut DiffCounts,
) {
    use netpol::engine::diff::diff;
    use netpol::engine::verdict::Family;
    let (mo, mn) = (Model::new(old, "default"), Model::new(new, "default"));
    if !mo.invalid.is_empty() || !mn.invalid.is_empty() {
        return;
    }
    let d = diff(&mo, &mn);
    let mut got: std::collections::BTreeMap<(String, String), (Vec<String>, Vec<String>)> =
        std::collections::BTreeMap::new();
    for c in &d.changes {
        // The reasons, made from the class rows on the class path,
        // are the definition's.
        // (A pair whose ports differ between address families has
        // its reasons family by family instead.)
        let (a, b) = (d.pods[c.from as usize], d.pods[c.to as usize]);
        assert!(
            d.per_family.contains_key(&(c.from, c.to))
                || d.reasons[c.reasons as usize]
                    == netpol::engine::diff::pair_reasons(
                        &mo,
                        &mn,
                        (a.old, a.new),
                        (b.old, b.new),
                        &d.policies
                    ),
            "seed {seed}: reasons of {} -> {}: {:?} vs {:?}\n{yaml}",
            a.pod().key(),
            b.pod().key(),
            d.reasons[c.reasons as usize],
            netpol::engine::diff::pair_reasons(
                &mo,
                &mn,
                (a.old, a.new),
                (b.old, b.new),
                &d.policies
            )
        );
        if c.before == c.after {
            // The same ports over the families together, not over
            // each: the definition's per-family answers differ.
            let fams = |m: &Model<'_>, x: Option<&PodInfo>, y: Option<&PodInfo>| {
                x.zip(y).map(|(x, y)| {
                    connection(m, &Endpoint::Pod(x), &Endpoint::Pod(y))
                        .families
                        .map(|l| {
                            l.into_iter()
                                .map(|(f, p)| (f, p.to_strings()))
                                .collect::<Vec<_>>()
                        })
                })
            };
            assert!(
                d.per_family.contains_key(&(c.from, c.to))
                    && fams(&mo, a.old, b.old) != fams(&mn, a.new, b.new),
                "seed {seed}: {} -> {} listed with the same ports\n{yaml}",
                a.pod().key(),
                b.pod().key()
            );
            continue;
        }
        got.insert(
            (
                d.pods[c.from as usize].pod().key(),
                d.pods[c.to as usize].pod().key(),
            ),
            (
                d.sets.get(c.before).to_strings(),
                d.sets.get(c.after).to_strings(),
            ),
        );
    }
    let mut want = std::collections::BTreeMap::new();
    let ports = |m: &Model<'_>, a: Option<&PodInfo>, b: Option<&PodInfo>| match (a, b) {
        (Some(a), Some(b)) => connection(m, &Endpoint::Pod(a), &Endpoint::Pod(b))
            .allowed
            .to_strings(),
        _ => Vec::new(),
    };
    for (i, a) in d.pods.iter().enumerate() {
        for (j, b) in d.pods.iter().enumerate() {
            if i == j {
                continue;
            }
            let before = ports(&mo, a.old, b.old);
            let after = ports(&mn, a.new, b.new);
            if before != after {
                want.insert((a.pod().key(), b.pod().key()), (before, after));
            } else {
                n.unchanged += 1;
            }
        }
    }
    // Pairs undecided on a side (a pod without IP facing an ipBlock, a
    // namespace whose labels are unknown) are listed apart, never as
    // changes: each is undecided by the definition on some side.
    for c in &d.maybe {
        let (a, b) = (d.pods[c.from as usize], d.pods[c.to as usize]);
        let undecided = |m: &Model<'_>, x: Option<&PodInfo>, y: Option<&PodInfo>| {
            x.zip(y).is_some_and(|(x, y)| {
                let v = connection(m, &Endpoint::Pod(x), &Endpoint::Pod(y));
                v.possible != v.allowed
            })
        };
        assert!(
            undecided(&mo, a.old, b.old) || undecided(&mn, a.new, b.new),
            "seed {seed}: {} -> {} listed undecided\n{yaml}",
            a.pod().key(),
            b.pod().key()
        );
        want.remove(&(a.pod().key(), b.pod().key()));
    }
    assert_eq!(
        got,
        want,
        "seed {seed}: diff differs from connection() on both sides\nOLD:\n{yaml}\nNEW policies: {:?}",
        new.policies
            .iter()
            .map(|p| &p.metadata.name)
            .collect::<Vec<_>>()
    );
    n.changes += want.len();
    // External ranges, at sample addresses.
    for (u, p) in d.pods.iter().enumerate() {
        for text in SAMPLE_ADDRESSES {
            let ip: std::net::IpAddr = text.parse().unwrap();
            // Ranges are shown for the families in use only.
            if !d.families.contains(&Family::of(&ip)) {
                continue;
            }
            // And for a pod, those it has an address of (all when
            // its addresses are unknown).
            let own: Vec<Family> = p
                .old
                .into_iter()
                .chain(p.new)
                .flat_map(|q| q.ips.iter().map(Family::of))
                .collect();
            if !own.is_empty() && !own.contains(&Family::of(&ip)) {
                continue;
            }
            for dir in Direction::BOTH {
                let side = |m: &Model<'_>, pod: Option<&PodInfo>| {
                    pod.map(|pod| {
                        let (f, t) = match dir {
                            Direction::Egress => (Endpoint::Pod(pod), Endpoint::External(ip)),
                            Direction::Ingress => (Endpoint::External(ip), Endpoint::Pod(pod)),
                        };
                        connection(m, &f, &t).allowed.to_strings()
                    })
                    .unwrap_or_default()
                };
                let (before, after) = (side(&mo, p.old), side(&mn, p.new));
                // Undecided on a side (a cluster policy rule whose match is
                // unknown): the diff claims nothing about it.
                let undecided = |m: &Model<'_>, pod: Option<&PodInfo>| {
                    pod.is_some_and(|pod| {
                        let (f, t) = match dir {
                            Direction::Egress => (Endpoint::Pod(pod), Endpoint::External(ip)),
                            Direction::Ingress => (Endpoint::External(ip), Endpoint::Pod(pod)),
                        };
                        let v = connection(m, &f, &t);
                        v.possible != v.allowed
                    })
                };
                if undecided(&mo, p.old) || undecided(&mn, p.new) {
                    continue;
                }
                let found: Vec<_> = d
                    .external
                    .iter()
                    .filter(|e| {
                        e.pod as usize == u && e.direction == dir && in_range(&e.addresses, ip)
                    })
                    .map(|e| {
                        (
                            d.sets.get(e.before).to_strings(),
                            d.sets.get(e.after).to_strings(),
                        )
                    })
                    .collect();
                if before == after {
                    assert!(
                        found.is_empty(),
                        "seed {seed}: {} {dir:?} {ip}: no change, but the diff says {found:?}\n{yaml}",
                        p.pod().key()
                    );
                } else {
                    assert_eq!(
                        found,
                        vec![(before, after)],
                        "seed {seed}: {} {dir:?} {ip}\n{yaml}",
                        p.pod().key()
                    );
                    n.external += 1;
                }
            }
        }
    }
}

/// `ClassRows::focused` (what `diff` uses) gives, for the rows, columns
/// and admitting rules of the focused classes, exactly what the whole
/// `ClassRows::new` gives, on random clusters and random focus sets; and
/// a focus that leaves a class out does change some answer about it
/// (so the comparison can fail).
#[test]
fn focused_class_rows_agree_with_whole_ones_on_random_clusters() {
    use netpol::engine::reach::{ClassRows, Classes, PortSets};
    let runs = random_runs();
    let (mut compared, mut unfocused_differ) = (0usize, 0usize);
    for seed in 1..=runs {
        let yaml = cluster(seed);
        let snap = load_str("random.yaml", &yaml, "default").expect("fixture loads");
        let model = Model::new(&snap, "default");
        let pods: Vec<&PodInfo> = snap.pods.iter().collect();
        let classes = Classes::build(&model, &pods);
        let n = classes.len();
        let mut rng = Rng(seed.wrapping_mul(0x5851_f42d_4c95_7f2d) | 1);
        let focus: Vec<bool> = (0..n).map(|_| rng.below(3) == 0).collect();
        let (mut ws, mut fs) = (PortSets::new(), PortSets::new());
        let mut whole = ClassRows::new(&model, &classes, &mut ws);
        let mut part = ClassRows::focused(&model, &classes, &mut fs, Some(&focus));
        let (mut rw, mut rf) = (Vec::new(), Vec::new());
        let (mut aw, mut af) = (Vec::new(), Vec::new());
        for a in 0..n {
            if focus[a] {
                whole.row(a, &mut ws, &mut rw);
                part.row(a, &mut fs, &mut rf);
                for b in 0..n {
                    assert_eq!(ws.get(rw[b]), fs.get(rf[b]), "seed {seed}: row {a} at {b}");
                }
            }
            for b in 0..n {
                if !(focus[a] || focus[b]) {
                    let (w, f) = (whole.cell(a, b, &mut ws), part.cell(a, b, &mut fs));
                    unfocused_differ += usize::from(ws.get(w) != fs.get(f));
                    continue;
                }
                compared += 1;
                let (w, f) = (whole.cell(a, b, &mut ws), part.cell(a, b, &mut fs));
                assert_eq!(ws.get(w), fs.get(f), "seed {seed}: cell {a} -> {b}");
                for d in [Direction::Egress, Direction::Ingress] {
                    whole.admitting(a, b, d, &mut ws, &mut aw);
                    part.admitting(a, b, d, &mut fs, &mut af);
                    let as_sets = |v: &[(u32, u32, u32)], s: &PortSets| {
                        v.iter()
                            .map(|&(p, r, ports)| (p, r, s.get(ports).to_strings()))
                            .collect::<Vec<_>>()
                    };
                    assert_eq!(
                        as_sets(&aw, &ws),
                        as_sets(&af, &fs),
                        "seed {seed}: admitting {a} -> {b} {d:?}"
                    );
                }
            }
        }
    }
    assert!(compared > 10_000, "too few cells compared: {compared}");
    assert!(
        unfocused_differ > 0,
        "no cell outside the focus differs: the focus restricts nothing"
    );
}

/// Random cluster policies (ClusterNetworkPolicy, both tiers, every
/// action, namespaces/pods/networks peers, ports and named ports) for
/// [`matrix_with_cluster_policy_tiers_agrees_with_connection`].
fn cluster_policies(rng: &mut Rng) -> String {
    let mut y = String::new();
    for i in 0..1 + rng.below(3) {
        let tier = *rng.pick(&["Admin", "Baseline"]);
        let priority = rng.below(3);
        let subject = if rng.chance(50) {
            format!("{{namespaces: {}}}", selector(rng, NS_KEYS))
        } else {
            format!("{{pods: {{podSelector: {}}}}}", selector(rng, POD_KEYS))
        };
        write!(
            y,
            "---\napiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {{name: cnp{i}}}\nspec:\n  tier: {tier}\n  priority: {priority}\n  subject: {subject}\n"
        )
        .unwrap();
        for (field, peers) in [("ingress", "from"), ("egress", "to")] {
            let n = rng.below(3);
            if n == 0 {
                continue;
            }
            writeln!(y, "  {field}:").unwrap();
            for _ in 0..n {
                let action = *rng.pick(&["Accept", "Deny", "Pass"]);
                let peer = match rng.below(if field == "egress" { 7 } else { 2 }) {
                    0 => format!("{{namespaces: {}}}", selector(rng, NS_KEYS)),
                    1 => format!("{{pods: {{podSelector: {}}}}}", selector(rng, POD_KEYS)),
                    2 => "{networks: [10.1.0.0/16]}".to_string(),
                    // The nodes' (and host-network pods') addresses, and
                    // the pods' IPv6 ones.
                    3 => "{networks: [192.168.0.0/24, \"fd00::/126\"]}".to_string(),
                    4 => "{nodes: {}}".to_string(),
                    5 => "{nodes: {matchLabels: {zone: a}}}".to_string(),
                    _ => "{networks: [10.3.0.0/16]}".to_string(),
                };
                let protocols = match rng.below(3) {
                    0 => String::new(),
                    1 if !peer.contains("networks") && !peer.contains("nodes") => {
                        ", protocols: [{destinationNamedPort: http}]".to_string()
                    }
                    _ => ", protocols: [{tcp: {destinationPort: {range: {start: 80, end: 8080}}}}, {udp: {destinationPort: {number: 53}}}]".to_string(),
                };
                writeln!(y, "  - {{action: {action}, {peers}: [{peer}]{protocols}}}").unwrap();
            }
        }
    }
    // The v1alpha1 BaselineAdminNetworkPolicy beside the Baseline tier
    // (neither ordered before the other: conflicts are undefined).
    if rng.chance(30) {
        let action = *rng.pick(&["Allow", "Deny"]);
        let peer = if rng.chance(50) {
            format!("{{namespaces: {}}}", selector(rng, NS_KEYS))
        } else {
            format!(
                "{{pods: {{namespaceSelector: {{}}, podSelector: {}}}}}",
                selector(rng, POD_KEYS)
            )
        };
        let ports = if rng.chance(50) {
            ", ports: [{portNumber: {protocol: TCP, port: 80}}]"
        } else {
            ""
        };
        write!(
            y,
            "---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata: {{name: default}}\nspec:\n  subject: {{namespaces: {}}}\n  ingress:\n  - {{action: {action}, from: [{peer}]{ports}}}\n  egress:\n  - {{action: {action}, to: [{peer}]{ports}}}\n",
            selector(rng, NS_KEYS)
        )
        .unwrap();
    }
    y
}

#[test]
fn matrix_with_cluster_policy_tiers_agrees_with_connection() {
    let runs: u64 = std::env::var("NETPOL_RANDOM_CLUSTERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let mut tiered_pairs = 0;
    for seed in 1..=runs {
        let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1);
        let yaml = format!("{}{}", cluster(seed), cluster_policies(&mut rng));
        let snap = load_str("random.yaml", &yaml, "default")
            .unwrap_or_else(|e| panic!("seed {seed}: fixture does not load: {e}\n{yaml}"));
        let model = Model::new(&snap, "default");
        assert!(
            model.invalid.is_empty() && model.cluster_invalid.is_empty(),
            "seed {seed}: invalid fixture policy: {:?} {:?}\n{yaml}",
            model.invalid,
            model.cluster_invalid
        );
        let pods: Vec<&PodInfo> = snap.pods.iter().collect();
        let mut fast = std::collections::HashMap::new();
        netpol::cmd::matrix::compute(&model, &pods, |matrix| {
            for i in 0..pods.len() {
                for (j, ports) in matrix.row(i).iter() {
                    fast.insert((i, j), ports.clone());
                }
            }
        });
        for (i, a) in pods.iter().enumerate() {
            for (j, b) in pods.iter().enumerate() {
                if i == j {
                    continue;
                }
                let verdict = connection(&model, &Endpoint::Pod(a), &Endpoint::Pod(b));
                tiered_pairs += usize::from(
                    verdict
                        .egress
                        .tiers
                        .as_ref()
                        .is_some_and(|t| !t.steps.is_empty())
                        || verdict
                            .ingress
                            .tiers
                            .as_ref()
                            .is_some_and(|t| !t.steps.is_empty()),
                );
                let got = fast.remove(&(i, j)).unwrap_or_default();
                assert_eq!(
                    got.to_strings(),
                    verdict.allowed.to_strings(),
                    "seed {seed}: matrix {} -> {} differs from connection()\n{yaml}",
                    a.key(),
                    b.key()
                );
            }
        }
    }
    // The cluster policies decided something often enough to matter.
    assert!(tiered_pairs > runs as usize, "{tiered_pairs} tiered pairs");
}

/// `diff` with cluster policies on both sides (some kept, some changed,
/// added or deleted, beside the NetworkPolicy and pod changes of
/// [`changed`]) agrees with the definition, as without them.
#[test]
fn diff_with_cluster_policy_tiers_agrees_with_the_definition() {
    use netpol::engine::verdict::Family;
    let runs: u64 = std::env::var("NETPOL_RANDOM_CLUSTERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let mut total = DiffCounts::default();
    let mut tiered = 0;
    for seed in 1..=runs {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let yaml = format!("{}{}", cluster(seed), cluster_policies(&mut rng));
        let mut old = load_str("random.yaml", &yaml, "default").unwrap();
        let mut new = changed(seed, &old);
        // The cluster policies: each old one kept, dropped, or replaced by
        // another draw's of the same name; the other draw's new names
        // added.
        let other = load_str("other.yaml", &cluster_policies(&mut rng), "default").unwrap();
        new.cluster_policies.retain(|_| !rng.chance(25));
        for p in &other.cluster_policies {
            if rng.chance(50) {
                new.cluster_policies
                    .retain(|q| (&q.kind, &q.name) != (&p.kind, &p.name));
                new.cluster_policies.push(p.clone());
            }
        }
        new.cluster_policies
            .sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));
        tiered += usize::from(new.cluster_policies != old.cluster_policies);
        if seed % 2 == 0 {
            for s in [&mut old, &mut new] {
                for p in &mut s.pods {
                    p.ips.retain(|ip| Family::of(ip) == Family::V4);
                }
            }
        }
        let mut n = DiffCounts::default();
        check_diff(seed, &yaml, &old, &new, &mut n);
        total.changes += n.changes;
        total.external += n.external;
        total.unchanged += n.unchanged;
    }
    assert!(
        tiered > runs as usize / 2,
        "cluster policies rarely changed: {tiered}"
    );
    assert!(
        total.changes > runs as usize,
        "too few changes: {}",
        total.changes
    );
    assert!(
        total.unchanged > total.changes,
        "the random changes change everything"
    );
}

/// Issue 17, every core: the random clusters (many small documents) read
/// on several threads, in batches of a few documents, give the snapshot
/// and warnings one thread gives; so do the clusters with a document
/// broken in the middle (the same first error) and the cluster policies.
#[test]
fn several_threads_read_the_random_clusters_as_one_thread() {
    let read = |text: &str, parallel: Parallel| match read_str_with(
        "random.yaml",
        text,
        "default",
        Reading::Fast,
        parallel,
    ) {
        Ok((snapshot, warnings)) => format!("{snapshot:#?}\n{warnings:#?}"),
        Err(e) => format!("error: {e}"),
    };
    let runs = random_runs();
    let mut errors = 0;
    for seed in 0..runs.min(200) {
        let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1);
        let mut yaml = cluster(seed);
        yaml.push_str(&cluster_policies(&mut rng));
        if rng.chance(30) {
            // A syntax error in one document, or a Pod without a name.
            let docs: Vec<usize> = yaml.match_indices("---\n").map(|(i, _)| i).collect();
            let at = docs[rng.below(docs.len())] + 4;
            let broken = *rng.pick(&["key: [unclosed\n", "apiVersion: v1\nkind: Pod\n---\n"]);
            yaml.insert_str(at, broken);
        }
        let one = read(&yaml, Parallel::SERIAL);
        errors += usize::from(one.starts_with("error: "));
        let parallel = Parallel {
            threads: 2,
            batch_bytes: 1 + rng.below(2000),
        };
        assert_eq!(
            read(&yaml, parallel),
            one,
            "seed {seed}, {parallel:?}: input:\n{yaml}"
        );
    }
    assert!(errors > 0);
}

/// Pods written the ways `-f` meets them, beside `cluster`'s flow-style
/// ones: block style with comments, without a namespace (the default
/// one), with CRLF line ends, with an anchor (read in full), and the
/// objects whose answers read beyond their namespace: a Service, a
/// Deployment without pods.
fn more_documents(rng: &mut Rng) -> String {
    let mut y = String::new();
    for i in 0..rng.below(6) {
        let ns = *rng.pick(NAMESPACES);
        let app = *rng.pick(APPS);
        let namespace = if rng.chance(20) {
            String::new()
        } else {
            format!("  namespace: {ns}\n")
        };
        let mut doc = format!(
            "---\n# pod q{i}\napiVersion: v1\nkind: Pod\nmetadata:\n  name: q{i}\n{namespace}  labels:\n    app: {app}   # its app\nspec:\n  containers:\n  - name: c\n    image: x\n    ports:\n    - {{name: http, containerPort: 8080}}\nstatus:\n  podIP: 10.9.0.{}\n",
            1 + i
        );
        if rng.chance(20) {
            doc = doc.replace("  labels:\n", "  labels: &l\n");
        }
        if rng.chance(20) {
            doc = doc.replace('\n', "\r\n");
        }
        y.push_str(&doc);
    }
    if rng.chance(50) {
        let ns = *rng.pick(NAMESPACES);
        let app = *rng.pick(APPS);
        writeln!(y, "---\napiVersion: v1\nkind: Service\nmetadata: {{name: s0, namespace: {ns}}}\nspec: {{selector: {{app: {app}}}, ports: [{{port: 80, targetPort: 8080}}]}}").unwrap();
    }
    if rng.chance(50) {
        let ns = *rng.pick(NAMESPACES);
        writeln!(y, "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d0, namespace: {ns}}}\nspec: {{selector: {{matchLabels: {{app: db}}}}, template: {{metadata: {{labels: {{app: db}}}}, spec: {{containers: [{{name: c, image: x, ports: [{{name: sql, containerPort: 5432}}]}}]}}}}}}").unwrap();
    }
    y
}

/// `can` and `explain` read manifests narrowly (the Pods of the namespaces
/// they need, the others only checked as YAML and read when the answer
/// turns out to need them): their answers, warnings and exit codes must
/// be the whole input's (`NETPOL_NARROW=0`) for every question, on random
/// clusters with cluster policy tiers, Services, workloads, broken
/// documents, and references that are missing, ambiguous, addresses,
/// Services and workloads.
#[test]
fn the_narrow_reading_answers_as_the_whole_input_on_random_clusters() {
    let runs = random_runs();
    let dir = tempfile::tempdir().unwrap();
    let (mut asked, mut answered) = (0, 0);
    for seed in 0..runs.min(80) {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5eed | 1);
        let mut yaml = cluster(seed);
        if rng.chance(30) {
            yaml.push_str(&cluster_policies(&mut rng));
        }
        yaml.push_str(&more_documents(&mut rng));
        if rng.chance(8) {
            // A syntax error in one document, or a Pod without a name.
            let docs: Vec<usize> = yaml.match_indices("---\n").map(|(i, _)| i).collect();
            let at = docs[rng.below(docs.len())] + 4;
            let broken = *rng.pick(&["key: [unclosed\n", "apiVersion: v1\nkind: Pod\n---\n"]);
            yaml.insert_str(at, broken);
        }
        let file = dir.path().join(format!("c{seed}.yaml"));
        std::fs::write(&file, &yaml).unwrap();
        let file = file.to_str().unwrap();
        // The pods read (most questions), and references that may not be
        // there or read beyond their namespace.
        let pods: Vec<String> = load_str("c.yaml", &yaml, "default")
            .map(|s| {
                s.pods
                    .iter()
                    .map(|p| format!("{}/{}", p.namespace, p.name))
                    .collect()
            })
            .unwrap_or_default();
        let mut others: Vec<String> = [
            "q0",
            "p1",
            "svc/s0",
            "b/svc/s0",
            "deployment/d0",
            "c/deployment/d0",
            "10.1.0.2",
            "192.168.0.1",
            "node/n1",
            "a/nosuch",
        ]
        .map(String::from)
        .to_vec();
        others.push(format!("{}/p{}", rng.pick(NAMESPACES), rng.below(12)));
        let any_ref = |rng: &mut Rng| {
            if pods.is_empty() || rng.chance(25) {
                rng.pick(&others).clone()
            } else {
                rng.pick(&pods).clone()
            }
        };
        for _ in 0..4 {
            let from = any_ref(&mut rng);
            let to = any_ref(&mut rng);
            let ns = *rng.pick(NAMESPACES);
            let mut args = vec!["can", &from, &to, "-f", file, "-n", ns];
            if rng.chance(50) {
                args.extend(["--port", *rng.pick(&["http", "8080", "UDP/53", "5432"])]);
            }
            if rng.chance(40) {
                args.extend(["-o", "json"]);
            }
            let target = any_ref(&mut rng);
            let mut explain = vec!["explain", &target, "-f", file, "-n", ns];
            if rng.chance(40) {
                explain.extend(["-o", "json"]);
            }
            for args in [args, explain] {
                let whole = run_narrow(&args, "0");
                asked += 1;
                answered += usize::from(!whole.1.contains("error: "));
                assert_eq!(
                    run_narrow(&args, "1"),
                    whole,
                    "seed {seed}: {args:?}\ninput:\n{yaml}"
                );
            }
        }
    }
    // Most questions are answered (not errors), so answers are compared.
    assert!(answered * 2 > asked, "{answered} of {asked} answered");
}

/// A whole cluster as one large block-style `kind: List` (what `kubectl
/// get -A -o yaml` prints; over 1 MiB, so read item by item): the narrow
/// reading skips items as it skips documents, with the same answers.
#[test]
fn the_narrow_reading_of_a_large_list_answers_as_the_whole_input() {
    let dir = tempfile::tempdir().unwrap();
    for seed in 0..2 {
        let mut rng = Rng(seed | 1);
        let mut docs: Vec<String> = cluster(seed)
            .split("---\n")
            .filter(|d| !d.trim().is_empty())
            .map(str::to_string)
            .collect();
        let pods: Vec<String> = load_str("c.yaml", &docs.join("---\n"), "default")
            .unwrap()
            .pods
            .iter()
            .map(|p| format!("{}/{}", p.namespace, p.name))
            .collect();
        // Filler pods of other namespaces, some on the nodes of the pods
        // asked about, to pass the size from which lists are streamed.
        let pad = "x".repeat(900);
        for i in 0..1200 {
            let node = ["n1", "n2", "n9"][i % 3];
            docs.push(format!(
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: f{i}\n  namespace: fill{}\n  annotations: {{note: {pad}}}\nspec:\n  nodeName: {node}\n  containers: [{{name: c, image: x}}]\nstatus: {{podIP: 10.200.{}.{}, hostIP: 192.168.7.{}}}\n",
                i % 5,
                i / 250,
                i % 250,
                i % 3
            ));
        }
        let mut list = String::from("apiVersion: v1\nkind: List\nitems:\n");
        for d in &docs {
            let mut lines = d.trim_end().lines();
            writeln!(list, "- {}", lines.next().unwrap()).unwrap();
            for l in lines {
                writeln!(list, "  {l}").unwrap();
            }
        }
        assert!(list.len() > 1 << 20);
        let file = dir.path().join(format!("list{seed}.yaml"));
        std::fs::write(&file, &list).unwrap();
        let file = file.to_str().unwrap();
        for _ in 0..3 {
            let (from, to) = (rng.pick(&pods).clone(), rng.pick(&pods).clone());
            for args in [
                vec!["can", from.as_str(), to.as_str(), "-f", file],
                vec!["explain", to.as_str(), "-f", file, "-o", "json"],
            ] {
                let whole = run_narrow(&args, "0");
                assert!(!whole.1.contains("error: "), "{args:?}: {}", whole.1);
                assert_eq!(run_narrow(&args, "1"), whole, "seed {seed}: {args:?}");
            }
        }
    }
}

/// Issue 17, every core: `matrix` computes its rows on the pool of
/// `NETPOL_THREADS` threads, a block of rows at a time, and writes them
/// in order. On random clusters of 65 to 164 pods (several blocks, the
/// last one partial; a quarter with cluster policies, so tiers, undecided
/// pairs and dual-stack passes are in the rows), three threads and one
/// answer alike through the binary in every format (the text list, with
/// and without headers, JSON, YAML): stdout, stderr and exit code. Each
/// cluster is eight runs of the binary (a second or two with cluster
/// policies, whose undecided pairs are decided one by one): a twentieth
/// of `NETPOL_RANDOM_CLUSTERS` clusters.
#[test]
fn matrix_on_several_threads_answers_as_on_one_thread() {
    let runs: u64 = std::env::var("NETPOL_RANDOM_CLUSTERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400u64)
        .div_ceil(20);
    let matrix = |yaml: &str, format: &[&str], threads: &str| {
        use std::io::Write as _;
        use std::process::{Command, Stdio};
        let mut child = Command::new(env!("CARGO_BIN_EXE_kubectl-netpol"))
            .args(["matrix", "-A", "-f", "-"])
            .args(format)
            .env_clear()
            .env("NETPOL_THREADS", threads)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run kubectl-netpol");
        let mut stdin = child.stdin.take().unwrap();
        let text = yaml.to_string();
        let feeder = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
        let out = child.wait_with_output().unwrap();
        feeder.join().unwrap().unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (mut pairs, mut maybe) = (0, 0);
    for seed in 1..=runs {
        let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1);
        let mut yaml = cluster_of(seed, 65, 100);
        if rng.chance(25) {
            yaml.push_str(&cluster_policies(&mut rng));
        }
        for format in [&[][..], &["--no-headers"], &["-o", "json"], &["-o", "yaml"]] {
            let one = matrix(&yaml, format, "1");
            assert_eq!(one.0, Some(0), "seed {seed}, {format:?}: {}", one.2);
            let several = matrix(&yaml, format, "3");
            assert!(
                several == one,
                "seed {seed}, {format:?}: three threads differ from one\n{yaml}"
            );
            if format == ["-o", "json"] {
                pairs += one.1.matches("\"from\"").count();
                maybe += one.1.matches("\"possible\"").count();
            }
        }
    }
    // Rows with pairs, some of them undecided.
    assert!(
        pairs > runs as usize * 1000 && maybe > 0,
        "{pairs} pairs, {maybe} undecided"
    );
}
