//! Protocols, port ranges and port sets.
//!
//! A [`PortSet`] is a set of (protocol, port) pairs kept as sorted, merged
//! ranges per protocol. It is what a connection verdict ends in: the ports
//! on which one pod may reach another.

use std::fmt;

/// The protocols NetworkPolicy knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub const ALL: [Protocol; 3] = [Protocol::Tcp, Protocol::Udp, Protocol::Sctp];

    /// Parses the API spelling (`TCP`, `UDP`, `SCTP`); case-insensitive for
    /// user input.
    pub fn parse(s: &str) -> Option<Protocol> {
        match s.to_ascii_uppercase().as_str() {
            "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            "SCTP" => Some(Protocol::Sctp),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }

    fn index(self) -> usize {
        match self {
            Protocol::Tcp => 0,
            Protocol::Udp => 1,
            Protocol::Sctp => 2,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub const MIN_PORT: u16 = 1;
pub const MAX_PORT: u16 = 65535;

/// A set of ports per protocol.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PortSet {
    /// Per protocol (TCP, UDP, SCTP): sorted, disjoint, non-adjacent
    /// inclusive ranges.
    ranges: [Vec<(u16, u16)>; 3],
}

impl PortSet {
    pub fn empty() -> PortSet {
        PortSet::default()
    }

    /// Every port of every protocol.
    pub fn all() -> PortSet {
        let full = vec![(MIN_PORT, MAX_PORT)];
        PortSet {
            ranges: [full.clone(), full.clone(), full],
        }
    }

    /// Every port of one protocol.
    pub fn protocol(p: Protocol) -> PortSet {
        let mut s = PortSet::empty();
        s.insert(p, MIN_PORT, MAX_PORT);
        s
    }

    pub fn single(p: Protocol, port: u16) -> PortSet {
        let mut s = PortSet::empty();
        s.insert(p, port, port);
        s
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.iter().all(Vec::is_empty)
    }

    pub fn is_all(&self) -> bool {
        self.ranges
            .iter()
            .all(|r| r.as_slice() == [(MIN_PORT, MAX_PORT)])
    }

    /// Adds the inclusive range `lo..=hi` of protocol `p`.
    pub fn insert(&mut self, p: Protocol, lo: u16, hi: u16) {
        let lo = lo.max(MIN_PORT);
        if lo > hi {
            return;
        }
        let v = &mut self.ranges[p.index()];
        v.push((lo, hi));
        normalize(v);
    }

    pub fn union_with(&mut self, other: &PortSet) {
        if other.is_empty() {
            return;
        }
        for (mine, theirs) in self.ranges.iter_mut().zip(other.ranges.iter()) {
            if theirs.is_empty() {
                continue;
            }
            mine.extend_from_slice(theirs);
            normalize(mine);
        }
    }

    pub fn intersect(&self, other: &PortSet) -> PortSet {
        let mut out = PortSet::empty();
        for i in 0..3 {
            let (a, b) = (&self.ranges[i], &other.ranges[i]);
            let (mut x, mut y) = (0, 0);
            while x < a.len() && y < b.len() {
                let lo = a[x].0.max(b[y].0);
                let hi = a[x].1.min(b[y].1);
                if lo <= hi {
                    out.ranges[i].push((lo, hi));
                }
                if a[x].1 < b[y].1 {
                    x += 1;
                } else {
                    y += 1;
                }
            }
        }
        out
    }

    /// The ports of `self` that are not in `other`.
    pub fn subtract(&self, other: &PortSet) -> PortSet {
        let mut out = PortSet::empty();
        for i in 0..3 {
            let mut rest: Vec<(u16, u16)> = Vec::new();
            let cut = &other.ranges[i];
            for &(lo, hi) in &self.ranges[i] {
                let mut lo = u32::from(lo);
                let hi = u32::from(hi);
                for &(clo, chi) in cut {
                    let (clo, chi) = (u32::from(clo), u32::from(chi));
                    if chi < lo || clo > hi {
                        continue;
                    }
                    if clo > lo {
                        rest.push((lo as u16, (clo - 1) as u16));
                    }
                    lo = chi + 1;
                    if lo > hi {
                        break;
                    }
                }
                if lo <= hi {
                    rest.push((lo as u16, hi as u16));
                }
            }
            out.ranges[i] = rest;
        }
        out
    }

    pub fn contains(&self, p: Protocol, port: u16) -> bool {
        self.ranges[p.index()]
            .iter()
            .any(|&(lo, hi)| lo <= port && port <= hi)
    }

    /// True when every port of `other` is in `self`.
    pub fn contains_all(&self, other: &PortSet) -> bool {
        &self.intersect(other) == other
    }

    /// The ranges of one protocol.
    pub fn ranges(&self, p: Protocol) -> &[(u16, u16)] {
        &self.ranges[p.index()]
    }

    /// `["TCP/80", "TCP/8000-8100", "UDP/53"]`, or `["TCP"]`-style entries
    /// for a whole protocol: the form used in JSON and text output.
    pub fn to_strings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for p in Protocol::ALL {
            for &(lo, hi) in self.ranges(p) {
                out.push(if (lo, hi) == (MIN_PORT, MAX_PORT) {
                    format!("{p}/all")
                } else if lo == hi {
                    format!("{p}/{lo}")
                } else {
                    format!("{p}/{lo}-{hi}")
                });
            }
        }
        out
    }

    /// Human text: `all ports`, `no port`, or `TCP/80, UDP/53`.
    pub fn describe(&self) -> String {
        if self.is_all() {
            "all ports".to_string()
        } else if self.is_empty() {
            "no port".to_string()
        } else {
            self.to_strings().join(", ")
        }
    }
}

fn normalize(v: &mut Vec<(u16, u16)>) {
    v.sort_unstable();
    let mut out: Vec<(u16, u16)> = Vec::with_capacity(v.len());
    for &(lo, hi) in v.iter() {
        match out.last_mut() {
            Some(last) if u32::from(lo) <= u32::from(last.1) + 1 => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    *v = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_merges_overlapping_and_adjacent_ranges() {
        let mut s = PortSet::empty();
        s.insert(Protocol::Tcp, 80, 80);
        s.insert(Protocol::Tcp, 81, 90);
        s.insert(Protocol::Tcp, 85, 100);
        s.insert(Protocol::Tcp, 200, 200);
        assert_eq!(s.ranges(Protocol::Tcp), &[(80, 100), (200, 200)]);
        assert!(s.ranges(Protocol::Udp).is_empty());
    }

    #[test]
    fn subtraction_cuts_ranges_per_protocol() {
        let mut a = PortSet::protocol(Protocol::Tcp);
        a.insert(Protocol::Udp, 53, 53);
        let mut b = PortSet::empty();
        b.insert(Protocol::Tcp, 1, 79);
        b.insert(Protocol::Tcp, 81, 8079);
        b.insert(Protocol::Tcp, 8081, 65535);
        assert_eq!(
            a.subtract(&b).to_strings(),
            vec!["TCP/80", "TCP/8080", "UDP/53"]
        );
        assert!(a.subtract(&a).is_empty());
        assert_eq!(PortSet::all().subtract(&PortSet::empty()), PortSet::all());
        let c = PortSet::all().subtract(&PortSet::single(Protocol::Sctp, 65535));
        assert_eq!(c.ranges(Protocol::Sctp), &[(1, 65534)]);
    }

    #[test]
    fn intersection_is_per_protocol() {
        let mut a = PortSet::empty();
        a.insert(Protocol::Tcp, 1, 100);
        a.insert(Protocol::Udp, 53, 53);
        let b = PortSet::single(Protocol::Tcp, 53);
        let i = a.intersect(&b);
        assert_eq!(i.to_strings(), vec!["TCP/53"]);
        assert!(!i.contains(Protocol::Udp, 53));
    }

    #[test]
    fn all_is_every_port_of_three_protocols() {
        let all = PortSet::all();
        assert!(all.is_all());
        assert!(!PortSet::protocol(Protocol::Tcp).is_all());
        assert!(all.contains(Protocol::Sctp, 65535));
        assert_eq!(
            all.intersect(&PortSet::single(Protocol::Udp, 5353)),
            PortSet::single(Protocol::Udp, 5353)
        );
    }

    #[test]
    fn strings_show_ranges_and_whole_protocols() {
        let mut s = PortSet::protocol(Protocol::Udp);
        s.insert(Protocol::Tcp, 8000, 8100);
        s.insert(Protocol::Tcp, 80, 80);
        assert_eq!(s.to_strings(), vec!["TCP/80", "TCP/8000-8100", "UDP/all"]);
        assert!(s.contains_all(&PortSet::single(Protocol::Tcp, 8050)));
        assert!(!s.contains_all(&PortSet::single(Protocol::Tcp, 8101)));
    }
}
