//! ipBlocks that do not mean what they look like: `ipblock-unusable-range`
//! (a range holding no address a connection can come from or go to:
//! 0.0.0.0/24, loopback, link-local), `ipblock-host-bits` (a CIDR with bits
//! set beyond its prefix, which the API server widens to the whole
//! network), `ipblock-ipv4-mapped` (`::ffff:10.0.0.5/128`, which the API
//! server accepts with a warning and reads as 10.0.0.5/32, as the engine
//! does: see `validate::parse_cidr`), and `ipblock-cni-dependent` (an
//! ipBlock of everything that also holds pod IPs: whether it admits pods
//! depends on the CNI). 169.254.0.0/16 ranges holding a node-local service
//! address (metadata, NodeLocal DNSCache, the ECS agent) are deliberate and
//! not flagged.
//!
//! API rule (NetworkPolicy validation, `IsValidCIDRForLegacyField`): a CIDR
//! with bits set beyond the prefix length is accepted (the API server
//! returns the warning "CIDR value ... is ambiguous in this context") and
//! parsed as the network it falls in; only with the StrictIPCIDRValidation
//! feature gate is it rejected ("must not have bits set beyond the prefix
//! length").

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::{Out, peer_path, written};
use crate::engine::Model;
use crate::engine::policy::{Direction, Peer};
use crate::snapshot::PodInfo;

/// Link-local addresses where nodes serve pods: the cloud metadata
/// service, NodeLocal DNSCache, the ECS/EKS credentials agent. A link-local
/// range holding one of them is deliberate.
const LINK_LOCAL_SERVICES: [Ipv4Addr; 3] = [
    Ipv4Addr::new(169, 254, 169, 254),
    Ipv4Addr::new(169, 254, 20, 10),
    Ipv4Addr::new(169, 254, 170, 2),
];

/// Why no connection NetworkPolicy sees can come from or go to any address
/// of `net`, and what was probably meant; `None` for a usable range.
pub fn unusable(net: &IpNet) -> Option<(&'static str, Option<&'static str>)> {
    let within = |outer: &str| outer.parse::<IpNet>().is_ok_and(|o: IpNet| o.contains(net));
    match net {
        IpNet::V4(v4) => {
            if v4.prefix_len() > 0 && within("0.0.0.0/8") {
                Some((
                    "addresses of \"this network\" (0.0.0.0/8), which no packet carries as its source or destination",
                    Some("0.0.0.0/0"),
                ))
            } else if within("127.0.0.0/8") {
                Some((
                    "loopback addresses: a connection to them never leaves the pod (or node), so NetworkPolicy never sees it",
                    None,
                ))
            } else if within("169.254.0.0/16")
                && !LINK_LOCAL_SERVICES.iter().any(|a| v4.contains(a))
            {
                Some((
                    "link-local addresses, which are not routed: no pod connects to or from them across the network",
                    None,
                ))
            } else {
                None
            }
        }
        IpNet::V6(v6) => {
            if v6.addr() == Ipv6Addr::LOCALHOST || (v6.prefix_len() > 0 && within("::/8")) {
                Some((
                    "reserved addresses (::/8: unspecified, loopback, IPv4-mapped), which no connection between pods uses",
                    Some("::/0"),
                ))
            } else if within("fe80::/10") {
                Some((
                    "link-local addresses, which are not routed: no pod connects to or from them across the network",
                    None,
                ))
            } else {
                None
            }
        }
    }
}

/// The first and last address of a network and how many it holds (as
/// text: an IPv6 count does not fit anything useful).
fn extent(net: &IpNet) -> String {
    let count = match net {
        IpNet::V4(v4) if v4.prefix_len() == 32 => return format!("{} only, 1 address", net.addr()),
        IpNet::V6(v6) if v6.prefix_len() == 128 => {
            return format!("{} only, 1 address", net.addr());
        }
        IpNet::V4(v4) => format!("{} addresses", 1u64 << (32 - u32::from(v4.prefix_len()))),
        IpNet::V6(v6) if v6.prefix_len() >= 64 => {
            format!("{} addresses", 1u128 << (128 - u32::from(v6.prefix_len())))
        }
        IpNet::V6(v6) => format!("2^{} addresses", 128 - u32::from(v6.prefix_len())),
    };
    format!("{} to {}, {count}", net.network(), net.broadcast())
}

fn host_len(addr: &IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// `ipblock-unusable-range` and `ipblock-host-bits`, on the written CIDRs of
/// the directions the policy isolates.
pub(super) fn ranges(model: &Model<'_>, pi: usize, out: &mut Out<'_>) {
    let p = &model.policies[pi];
    let Some(spec) = written(model, pi) else {
        return;
    };
    for d in Direction::BOTH {
        if p.rules(d).is_none() {
            continue;
        }
        let peers_of: Vec<Option<&Vec<k8s_openapi::api::networking::v1::NetworkPolicyPeer>>> =
            match d {
                Direction::Ingress => spec
                    .ingress
                    .iter()
                    .flatten()
                    .map(|r| r.from.as_ref())
                    .collect(),
                Direction::Egress => spec
                    .egress
                    .iter()
                    .flatten()
                    .map(|r| r.to.as_ref())
                    .collect(),
            };
        for (ri, peers) in peers_of.into_iter().enumerate() {
            for (pj, peer) in peers.into_iter().flatten().enumerate() {
                let Some(block) = &peer.ip_block else {
                    continue;
                };
                let path = format!("{}.ipBlock", peer_path(d, ri, pj));
                let Ok(written) = block.cidr.parse::<IpNet>() else {
                    continue;
                };
                // `::ffff:10.0.0.5/128` is 10.0.0.5/32 to the API server.
                let raw = match crate::engine::validate::ipv4_mapped(&written) {
                    Some(v4) => {
                        mapped(p, &format!("{path}.cidr"), &block.cidr, &v4, out);
                        v4
                    }
                    None => written,
                };
                let net = raw.trunc();
                if raw.addr() != net.network() {
                    host_bits(p, &format!("{path}.cidr"), &block.cidr, &raw, out);
                }
                for (k, e) in block.except.iter().flatten().enumerate() {
                    let Ok(written) = e.parse::<IpNet>() else {
                        continue;
                    };
                    let raw = match crate::engine::validate::ipv4_mapped(&written) {
                        Some(v4) => {
                            mapped(p, &format!("{path}.except[{k}]"), e, &v4, out);
                            v4
                        }
                        None => written,
                    };
                    if raw.addr() != raw.trunc().network() {
                        host_bits(p, &format!("{path}.except[{k}]"), e, &raw, out);
                    }
                }
                if let Some((why, meant)) = unusable(&net) {
                    let mut message =
                        format!("{net} is {}: {why}. This peer admits nothing", extent(&net));
                    if let Some(m) = meant {
                        message.push_str(&format!("; \"any address\" is {m}, not {net}"));
                    }
                    out.push(
                        "ipblock-unusable-range",
                        p,
                        Some(path.clone()),
                        message,
                        meant.map(|m| format!("ipBlock:\n  cidr: {m}")),
                    );
                }
            }
        }
    }
}

/// `ipblock-ipv4-mapped`: an IPv4-mapped IPv6 CIDR, read as IPv4.
fn mapped(
    p: &crate::engine::policy::Policy,
    path: &str,
    text: &str,
    v4: &IpNet,
    out: &mut Out<'_>,
) {
    out.push(
        "ipblock-ipv4-mapped",
        p,
        Some(path.to_string()),
        format!(
            "{text} is an IPv4-mapped IPv6 CIDR: the API server accepts it with a warning and reads it as {v4} (IPv4), which is how it is evaluated here; write {v4}"
        ),
        Some(format!("cidr: {v4}")),
    );
}

fn host_bits(
    p: &crate::engine::policy::Policy,
    path: &str,
    text: &str,
    raw: &IpNet,
    out: &mut Out<'_>,
) {
    let net = raw.trunc();
    let single = format!("{}/{}", raw.addr(), host_len(&raw.addr()));
    out.push(
        "ipblock-host-bits",
        p,
        Some(path.to_string()),
        format!(
            "{text} has bits set beyond its /{} prefix: the API server accepts it with a warning (it rejects it where the StrictIPCIDRValidation feature gate is on) and reads it as {net}, {}. If the one address was meant, write {single}; some CNIs have mishandled such values (Antrea once dropped the rule), so write the network itself either way",
            raw.prefix_len(),
            extent(&net),
        ),
        Some(format!("cidr: {net}")),
    );
}

/// The pods (not host-network: they carry their node's address) whose IPs
/// `peer`'s ipBlock holds.
pub(super) fn pods_inside<'s>(model: &Model<'s>, peer: &Peer) -> Vec<&'s PodInfo> {
    match peer {
        Peer::IpBlock(b) => model
            .pods_in_block(b)
            .into_iter()
            .filter(|pod| !pod.host_network)
            .collect(),
        Peer::Pods { .. } => Vec::new(),
    }
}

/// `ipblock-cni-dependent`: an ipBlock of every address (`0.0.0.0/0`,
/// `::/0`, with or without except) that holds pod IPs. Narrower blocks get
/// `ipblock-selects-pods`, which carries the same CNI note.
pub(super) fn everything_with_pods(model: &Model<'_>, pi: usize, out: &mut Out<'_>) {
    let p = &model.policies[pi];
    for d in Direction::BOTH {
        for (ri, rule) in p.rules(d).unwrap_or_default().iter().enumerate() {
            for (pj, peer) in rule.peers.iter().flatten().enumerate() {
                let Peer::IpBlock(b) = peer else { continue };
                if b.cidr.prefix_len() > 0 {
                    continue;
                }
                // As destinations, only pods declaring a port the rule
                // admits make a difference (a rule to 0.0.0.0/0 on 443 is
                // about the internet unless a pod serves 443); as sources,
                // every pod does.
                let inside: Vec<&PodInfo> = pods_inside(model, peer)
                    .into_iter()
                    .filter(|pod| {
                        d == Direction::Ingress
                            || pod.ports.iter().any(|c| {
                                rule.resolve_ports(Some(&pod.ports))
                                    .contains(c.protocol, c.port)
                            })
                    })
                    .collect();
                if inside.is_empty() {
                    continue;
                }
                let what = b.render();
                out.push(
                    "ipblock-cni-dependent",
                    p,
                    Some(format!("{}.ipBlock", peer_path(d, ri, pj))),
                    format!(
                        "{what} also holds the IPs of {} pod{} ({}{}) as {}: {}",
                        inside.len(),
                        if inside.len() == 1 { "" } else { "s" },
                        inside
                            .iter()
                            .take(3)
                            .map(|p| p.key())
                            .collect::<Vec<_>>()
                            .join(", "),
                        if inside.len() > 3 { ", ..." } else { "" },
                        match d {
                            Direction::Ingress => "sources",
                            Direction::Egress => "destinations",
                        },
                        super::cni::ipblock_pods_note(&out.opts.cni, &what)
                    ),
                    None,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn unusable_ranges_and_usable_ones() {
        for bad in [
            "0.0.0.0/24",
            "0.0.0.0/8",
            "0.0.0.0/32",
            "127.0.0.0/8",
            "127.0.0.1/32",
            "169.254.0.0/24",
            "::1/128",
            "::/64",
            "fe80::/64",
        ] {
            assert!(unusable(&net(bad)).is_some(), "{bad}");
        }
        for good in [
            "0.0.0.0/0",
            "::/0",
            "0.0.0.0/1",
            "10.0.0.0/8",
            "169.254.169.254/32",
            "169.254.0.0/16",
            "192.168.0.0/16",
            "2001:db8::/32",
        ] {
            assert!(unusable(&net(good)).is_none(), "{good}");
        }
        assert_eq!(
            unusable(&net("0.0.0.0/24")).and_then(|u| u.1),
            Some("0.0.0.0/0")
        );
    }

    #[test]
    fn extent_names_the_range() {
        assert_eq!(
            extent(&net("0.0.0.0/24")),
            "0.0.0.0 to 0.0.0.255, 256 addresses"
        );
        assert_eq!(
            extent(&net("10.0.0.0/8")),
            "10.0.0.0 to 10.255.255.255, 16777216 addresses"
        );
    }
}
