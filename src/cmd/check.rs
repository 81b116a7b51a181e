//! `kubectl netpol check`: does this cluster's CNI enforce NetworkPolicy
//! at all? Evidence in, verdict with reasons and caveats out.
//!
//! Exit status: 0 enforced, 3 not enforced, 4 cannot tell, 1 error.

use crate::cli::{CheckArgs, OutputFormat};
use crate::cmd::{Context, Outcome};
use crate::cni::{self, Assessment, Verdict};
use crate::error::{Error, exit};
use crate::render::{Palette, clean, to_json, to_yaml};

pub fn run(ctx: &Context, _args: &CheckArgs) -> Result<Outcome, Error> {
    let evidence = ctx.evidence(true)?;
    let mut a = cni::assess(&evidence);
    // Which cluster-scoped policy APIs the cluster serves (discovery is
    // readable by every user; a refused list is said, not hidden).
    if let Ok(live) = ctx.live() {
        let found = ctx.block_on(live.cluster_policies())?;
        a.unreadable.extend(found.refused);
        // A refused discovery: which are served is unknown, not "none".
        a.cluster_policy_apis = (!found.unknown).then_some(found.served);
        // And whether the CNI found implements them.
        a.cluster_policy_support = a
            .cluster_policy_apis
            .as_ref()
            .map(|served| cni::tiers::support(&a.found, served));
    }
    let stdout = match ctx.format() {
        OutputFormat::Json => to_json(&a),
        OutputFormat::Yaml => to_yaml(&a),
        OutputFormat::Text | OutputFormat::Wide | OutputFormat::Name => {
            render_text(&a, ctx.palette)
        }
    };
    Ok(Outcome {
        stdout,
        warnings: Vec::new(),
        code: match a.verdict {
            Verdict::Enforced => exit::OK,
            Verdict::NotEnforced => exit::NOT_ENFORCED,
            Verdict::Unknown => exit::UNKNOWN,
        },
    })
}

/// `check`'s text: the verdict and its reason, the platform the nodes show,
/// what was found with its evidence, then caveats, problems and what could
/// not be read.
pub fn render_text(a: &Assessment, p: Palette) -> String {
    let mut out = String::new();
    let verdict = match a.verdict {
        Verdict::Enforced => p.good("enforced"),
        Verdict::NotEnforced => p.bad("not enforced"),
        Verdict::Unknown => p.warn("unknown"),
    };
    out.push_str(&format!("{}  {verdict}\n", p.head("NetworkPolicy:")));
    out.push_str(&format!("Reason:         {}\n", clean(&a.reason)));
    let platform = match &a.platform {
        Some(pl) => format!(
            "{} (node {}: {})",
            clean(&pl.name),
            clean(&pl.node),
            clean(&pl.sign)
        ),
        None => "<unknown>".to_string(),
    };
    out.push_str(&format!("Platform:       {platform}\n"));
    if let Some(apis) = &a.cluster_policy_apis {
        if apis.is_empty() {
            out.push_str("Cluster tiers:  none served\n");
        }
        // Each served API, and whether the CNI found implements it (what
        // cannot be told is said so, never guessed).
        let support = a.cluster_policy_support.as_deref().unwrap_or_default();
        for (i, api) in apis.iter().enumerate() {
            let s = support.iter().find(|s| &s.api == api);
            let verdict = match s.and_then(|s| s.implemented) {
                Some(true) => p.good("implemented"),
                Some(false) => p.bad("not implemented"),
                None => p.warn("whether it is implemented is unknown"),
            };
            let why = match s.map(|s| s.by.as_slice()) {
                Some([]) | None => "no known CNI was found".to_string(),
                Some(by) => by
                    .iter()
                    .map(|i| clean(&i.reason))
                    .collect::<Vec<_>>()
                    .join("; "),
            };
            let head = if i == 0 { "Cluster tiers:" } else { "" };
            out.push_str(&format!("{head:<16}{}: {verdict}: {why}\n", clean(api)));
        }
    }
    out.push_str("\nFound:\n");
    if a.found.is_empty() {
        out.push_str("  <none>\n");
    }
    for c in &a.found {
        let version = c
            .version
            .as_deref()
            .map(|v| format!(" {}", clean(v)))
            .unwrap_or_default();
        let enforces = match c.enforces {
            Some(true) => p.good("enforces"),
            Some(false) => p.bad("does not enforce"),
            None => p.warn("cannot tell"),
        };
        let detail = if c.detail.is_empty() {
            String::new()
        } else {
            format!(" ({})", clean(&c.detail))
        };
        out.push_str(&format!(
            "  {}{version}{detail}: {enforces}\n",
            clean(&c.name)
        ));
        for e in &c.evidence {
            let at = match &e.namespace {
                Some(ns) => format!("{}/{}", clean(ns), clean(&e.name)),
                None => clean(&e.name),
            };
            let ready = e
                .ready
                .as_deref()
                .map(|r| format!("  {r} ready"))
                .unwrap_or_default();
            let images = if e.images.is_empty() {
                String::new()
            } else {
                format!(
                    "  {}",
                    e.images
                        .iter()
                        .map(|i| clean(i))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            out.push_str(&format!(
                "    {} {at}{ready}{images}\n",
                e.kind.to_lowercase()
            ));
        }
    }
    for (title, items) in [
        ("Caveats", &a.caveats),
        ("Problems", &a.problems),
        ("Not readable", &a.unreadable),
    ] {
        if items.is_empty() {
            continue;
        }
        out.push_str(&format!("\n{title}:\n"));
        for i in items {
            let line = clean(i);
            out.push_str(&format!(
                "  - {}\n",
                if title == "Problems" {
                    p.warn(&line)
                } else {
                    line
                }
            ));
        }
    }
    out
}
