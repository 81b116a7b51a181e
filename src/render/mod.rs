//! Turning answers into text for people and JSON/YAML for scripts.
//!
//! Renderers are pure functions that return `String`; only `main` and the
//! commands print. Colour is decided once ([`Palette`]) and passed in.

use std::io::IsTerminal;

use owo_colors::OwoColorize;
use serde::Serialize;

use crate::cli::ColorChoice;

/// Colours for text output; every method is the identity when colour is
/// off.
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    enabled: bool,
}

impl Palette {
    pub fn new(enabled: bool) -> Palette {
        Palette { enabled }
    }

    /// Decides colour for stdout from `--color` and `NO_COLOR` (honoured
    /// only when non-empty).
    pub fn from_choice(choice: ColorChoice) -> Palette {
        let enabled = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stdout().is_terminal()
            }
        };
        Palette { enabled }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn good(&self, s: &str) -> String {
        if self.enabled {
            s.green().bold().to_string()
        } else {
            s.to_string()
        }
    }

    pub fn bad(&self, s: &str) -> String {
        if self.enabled {
            s.red().bold().to_string()
        } else {
            s.to_string()
        }
    }

    pub fn warn(&self, s: &str) -> String {
        if self.enabled {
            s.yellow().to_string()
        } else {
            s.to_string()
        }
    }

    pub fn head(&self, s: &str) -> String {
        if self.enabled {
            s.bold().to_string()
        } else {
            s.to_string()
        }
    }

    pub fn dim(&self, s: &str) -> String {
        if self.enabled {
            s.dimmed().to_string()
        } else {
            s.to_string()
        }
    }
}

/// Removes terminal control characters from strings that come from other
/// people (object names, labels), so they cannot move the cursor or change
/// colours.
pub fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || is_bidi_control(c) {
                '?'
            } else {
                c
            }
        })
        .collect()
}

/// Invisible characters that reorder or hide text on a terminal.
fn is_bidi_control(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// JSON with 4-space indentation and a trailing newline, as kubectl prints.
pub fn to_json<T: Serialize>(value: &T) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    // Serialising plain data structs into memory cannot fail.
    if value.serialize(&mut ser).is_err() {
        return "{}\n".to_string();
    }
    let mut s = String::from_utf8(buf).unwrap_or_default();
    s.push('\n');
    s
}

/// The same document as YAML.
pub fn to_yaml<T: Serialize>(value: &T) -> String {
    serde_yaml_ng::to_string(value).unwrap_or_default()
}

/// The width of `s` on a terminal: characters, not counting ANSI colour
/// sequences.
pub fn visible_width(s: &str) -> usize {
    let mut width = 0;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip `ESC [ ... final-byte`.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            width += 1;
        }
    }
    width
}

/// A borderless table with UPPERCASE headers, columns separated by three
/// spaces, as `kubectl get` prints.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| visible_width(h)).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(visible_width(cell));
            }
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let last = cells.len().saturating_sub(1);
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i < last {
                let pad = widths[i] - visible_width(cell) + 3;
                out.push_str(&" ".repeat(pad));
            }
        }
        // An empty last cell must not leave padding behind.
        let kept = out.trim_end_matches(' ').len();
        out.truncate(kept);
        out.push('\n');
    };
    line(headers.to_vec(), &mut out);
    for row in rows {
        line(row.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

/// `app=web,tier=front`, or `<none>`.
pub fn labels_text(labels: &crate::snapshot::Labels) -> String {
    if labels.is_empty() {
        "<none>".to_string()
    } else {
        labels
            .iter()
            .map(|(k, v)| format!("{}={}", clean(k), clean(v)))
            .collect::<Vec<_>>()
            .join(",")
    }
}
