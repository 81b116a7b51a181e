//! Hostile and careless input: the binary, run under a memory limit
//! (`prlimit --as`), must answer every case with its documented exit code
//! and one `error:` line, never a panic, never unbounded memory. Bombs are
//! generated here, small on disk; a wall-clock bound is only a hang guard.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use tempfile::TempDir;

/// The address space the binary may use: far below what the bombs
/// expanded to before (gigabytes), far above what honest input needs.
const MEMORY_LIMIT: u64 = 1 << 30;

/// A hang guard, not a speed target (BENCHMARKS.md holds those).
const HANG_GUARD: Duration = Duration::from_secs(60);

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary in a scrubbed environment under [`MEMORY_LIMIT`], with
/// `stdin` as its standard input.
fn run(args: &[&str], stdin: Option<&[u8]>) -> Run {
    run_within(MEMORY_LIMIT, args, stdin)
}

/// [`run`] with another address-space limit, in bytes.
fn run_within(limit: u64, args: &[&str], stdin: Option<&[u8]>) -> Run {
    run_with_env(limit, &[], args, stdin)
}

/// [`run_within`] with these variables set too.
fn run_with_env(limit: u64, vars: &[(&str, &str)], args: &[&str], stdin: Option<&[u8]>) -> Run {
    let home = tempfile::tempdir().expect("temporary HOME");
    let mut cmd = Command::new("prlimit");
    cmd.arg(format!("--as={limit}"))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_kubectl-netpol"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .envs(vars.iter().copied())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run prlimit (util-linux)");
    let pid = child.id();
    let input = child.stdin.take();
    let bytes = stdin.map(<[u8]>::to_vec);
    // The binary may stop reading early (an error): a broken pipe here is
    // fine. Output is read while the binary runs (a full pipe would
    // block it).
    let feeder = std::thread::spawn(move || {
        if let (Some(mut pipe), Some(bytes)) = (input, bytes) {
            use std::io::Write;
            let _ = pipe.write_all(&bytes);
        }
    });
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out: Output = match rx.recv_timeout(HANG_GUARD) {
        Ok(out) => out.expect("output"),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("{args:?}: still running after {HANG_GUARD:?}");
        }
    };
    let _ = feeder.join();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked") && !run.stderr.contains("memory allocation"),
        "{args:?}: {}",
        run.stderr
    );
    run
}

/// Asserts a run ended in exactly one `error:` line and nothing on
/// stdout, with `code`; returns the line.
fn one_error(r: &Run, code: i32) -> String {
    assert_eq!(r.code, code, "stderr: {}", r.stderr);
    assert_eq!(r.stdout, "", "stderr: {}", r.stderr);
    assert!(r.stderr.starts_with("error: "), "stderr: {:?}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "stderr: {:?}", r.stderr);
    r.stderr.trim_end().to_string()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write fixture");
    path.display().to_string()
}

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\n  labels: {app: web}\nspec:\n  containers:\n  - name: c\n    image: x\n";

// ---------------------------------------------------------------------------
// Item 7: alias amplification and deep nesting
// ---------------------------------------------------------------------------

/// Billion laughs: nine levels of ten aliases, 10^9 leaves in 400 bytes,
/// as the second document of a file (so the message names it).
#[test]
fn nested_alias_bomb_is_refused_with_file_and_document() {
    let dir = TempDir::new().unwrap();
    let mut bomb = format!(
        "{POD}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: lol}}\ndata:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
    );
    for i in 1..10 {
        let p = i - 1;
        let refs = vec![format!("*a{p}"); 10].join(", ");
        bomb.push_str(&format!("  a{i}: &a{i} [{refs}]\n"));
    }
    let file = write(dir.path(), "bomb.yaml", &bomb);
    let r = run(&["list", "-A", "-f", &file], None);
    let line = one_error(&r, 1);
    assert!(line.contains(&file), "{line}");
    assert!(line.contains("document 2"), "{line}");
    assert!(
        line.contains("document contains excessive aliasing"),
        "{line}"
    );
}

/// One wide anchor aliased many times (the 600 KB file of issue 12): each
/// alias is one jump for the parser but thousands of nodes once expanded.
#[test]
fn wide_anchor_aliased_many_times_is_refused() {
    let dir = TempDir::new().unwrap();
    let wide: Vec<String> = (0..4000).map(|i| format!("k{i}: v")).collect();
    let mut bomb = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: wide}}\nbase: &b {{{}}}\nlist:\n",
        wide.join(", ")
    );
    while bomb.len() < 600_000 {
        bomb.push_str("- *b\n");
    }
    let file = write(dir.path(), "wide.yaml", &bomb);
    let r = run(&["list", "-A", "-f", &file], None);
    let line = one_error(&r, 1);
    assert!(line.contains("document 1"), "{line}");
    assert!(
        line.contains("document contains excessive aliasing"),
        "{line}"
    );
}

/// A UTF-8 byte order mark opening the input is skipped, as kubectl does.
#[test]
fn byte_order_mark_is_skipped() {
    let dir = TempDir::new().unwrap();
    let file = write(dir.path(), "bom.yaml", &format!("\u{feff}{POD}"));
    let r = run(&["explain", "pod/web", "-n", "shop", "-f", &file], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("web"), "{}", r.stdout);
}

/// Anchors used the way people use them (shared labels, merge keys) are
/// read.
#[test]
fn modest_anchors_and_merge_keys_are_read() {
    let dir = TempDir::new().unwrap();
    // Anchors live within one document (as in YAML, and kubectl): a List.
    let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: a\n    namespace: shop\n    labels: &l {app: web, tier: front}\n  spec: &s\n    containers: [{name: c, image: x, ports: [{containerPort: 80}]}]\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: b\n    namespace: shop\n    labels:\n      <<: *l\n      tier: back\n  spec: *s\n";
    let file = write(dir.path(), "anchors.yaml", text);
    let r = run(
        &["explain", "pod/b", "-n", "shop", "-f", &file, "-o", "json"],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    let labels = v.pointer("/pod/labels").expect("labels").to_string();
    assert!(labels.contains("\"app\":\"web\""), "{labels}");
    assert!(labels.contains("\"tier\":\"back\""), "{labels}");
}

/// 200,000 opening brackets: refused at the parser's depth limit, in
/// linear time (a hang guard only).
#[test]
fn deep_nesting_is_refused() {
    for (open, close) in [("[", "]"), ("{a: ", "}"), ("- ", "")] {
        let text = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: deep}}\ndata: {}x{}\n",
            open.repeat(200_000),
            close.repeat(200_000)
        );
        let r = run(&["list", "-A", "-f", "-"], Some(text.as_bytes()));
        let line = one_error(&r, 1);
        assert!(
            line.contains("<stdin>") && line.contains("document 1"),
            "{line}"
        );
        assert!(line.len() < 300, "{line}");
    }
}

// ---------------------------------------------------------------------------
// Item 8: -R and directory symlink loops
// ---------------------------------------------------------------------------

/// A link back to an ancestor used to be walked forever; now it is one
/// error naming the link and where it leads. Links that do not loop are
/// still followed.
#[cfg(unix)]
#[test]
fn recursive_walk_stops_at_a_symlink_loop() {
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("manifests");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::create_dir_all(dir.path().join("elsewhere")).unwrap();
    write(&root, "pod.yaml", POD);
    write(
        &dir.path().join("elsewhere"),
        "other.yaml",
        &POD.replace("name: web", "name: other"),
    );
    std::os::unix::fs::symlink(dir.path().join("elsewhere"), root.join("sub/linked")).unwrap();
    let root_s = root.display().to_string();
    let r = run(
        &["explain", "pod/other", "-n", "shop", "-R", "-f", &root_s],
        None,
    );
    assert_eq!(
        r.code, 0,
        "a link that does not loop is followed: {}",
        r.stderr
    );

    std::os::unix::fs::symlink("..", root.join("sub/up")).unwrap();
    let r = run(&["list", "-A", "-R", "-f", &root_s], None);
    let line = one_error(&r, 1);
    assert!(line.contains(&format!("{root_s}/sub/up")), "{line}");
    assert!(line.contains("symlink loop"), "{line}");
    // Without -R the subdirectory is not entered, so there is no loop.
    let r = run(&["list", "-A", "-f", &root_s], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

// ---------------------------------------------------------------------------
// Item 11: empty input
// ---------------------------------------------------------------------------

/// Nothing on stdin, an empty directory, a file of comments: an error
/// saying nothing was read, never "No findings" or an empty table.
#[test]
fn empty_input_is_an_error() {
    let dir = TempDir::new().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    write(&empty, "README.md", "not a manifest");
    let empty_s = empty.display().to_string();
    let comments = write(dir.path(), "comments.yaml", "# nothing\n---\n---\n");
    for (args, stdin, names) in [
        (vec!["lint", "-f", "-"], Some(&b""[..]), "<stdin>"),
        (vec!["list", "-A", "-f", "-"], Some(&b"\n\n"[..]), "<stdin>"),
        (
            vec!["coverage", "-A", "-f", &empty_s],
            None,
            empty_s.as_str(),
        ),
        (
            vec!["matrix", "-A", "-R", "-f", &empty_s],
            None,
            empty_s.as_str(),
        ),
        (vec!["list", "-A", "-f", &comments], None, comments.as_str()),
    ] {
        let r = run(&args, stdin);
        let line = one_error(&r, 1);
        assert!(line.contains("nothing was read"), "{args:?}: {line}");
        assert!(line.contains(names), "{args:?}: {line}");
    }
    // An input of other kinds only was read: not an error.
    let cm = write(
        dir.path(),
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    );
    assert_eq!(run(&["list", "-A", "-f", &cm], None).code, 0);
}

// ---------------------------------------------------------------------------
// Item 13: usage errors found after parsing; timeouts
// ---------------------------------------------------------------------------

/// Usage errors that clap cannot see exit 2, as the README's "Exit codes"
/// says, with one `error:` line, whichever command finds them.
#[test]
fn usage_errors_found_after_parsing_exit_2() {
    for args in [
        &["list", "-f", "no/such/file.yaml"][..],
        &["lint", "-f", "examples/shop", "--enable", "no-such-check"],
        &["explain", "a/b/c/d", "-f", "examples/shop"],
        &["explain", "shop/frobs/x", "-f", "examples/shop"],
        &["list", "--request-timeout", "soon"],
        &["list", "--as-group", "g"],
        &[
            "can",
            "frontend/web",
            "backend/api",
            "--port",
            "0",
            "-f",
            "examples/shop",
        ],
    ] {
        one_error(&run(args, None), 2);
    }
}

/// A server that accepts connections and never answers: every command
/// ends in the same sentence.
#[test]
fn timeouts_are_worded_one_way() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().collect();
        drop(held);
    });
    let home = TempDir::new().unwrap();
    let kubeconfig = write(
        home.path(),
        "config",
        &format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: \"http://127.0.0.1:{port}\"}}\nusers:\n- name: u\n  user: {{token: t}}\ncontexts:\n- name: c\n  context: {{cluster: c, user: u, namespace: shop}}\ncurrent-context: c\n"
        ),
    );
    for (args, code) in [
        (&["list"][..], 1),
        (&["explain", "pod/web"], 1),
        (&["coverage"], 1),
        (&["lint"], 1),
        (&["check"], 1),
        (&["can", "web", "api"], 2),
    ] {
        let mut all = args.to_vec();
        all.extend(["--kubeconfig", &kubeconfig, "--request-timeout", "300ms"]);
        let line = one_error(&run(&all, None), code);
        assert_eq!(
            line, "error: the request timed out after 300ms (--request-timeout)",
            "{args:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Item 12: one error line stays one readable line
// ---------------------------------------------------------------------------

/// A huge value quoted in an error or warning is shortened with `...`;
/// `-v=1` shows it whole.
#[test]
fn long_quoted_values_are_capped_unless_verbose() {
    let long = "x".repeat(5000);
    let pod = format!("pod/{long}");
    let line = one_error(&run(&["explain", &pod, "-f", "examples/shop"], None), 1);
    assert!(line.len() < 300, "{line}");
    assert!(
        line.contains(&format!("\"{}...\"", "x".repeat(64))),
        "{line}"
    );
    let r = run(&["explain", &pod, "-f", "examples/shop", "-v=1"], None);
    assert!(one_error(&r, 1).contains(&format!("\"{long}\"")));

    // A warning quoting a huge wrongly typed value, and an invalid policy.
    let dir = TempDir::new().unwrap();
    let file = write(
        dir.path(),
        "big.yaml",
        &format!(
            "{POD}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: shop}}\nspec: {{containers: [{{name: c, ports: [{{containerPort: \"{long}\"}}]}}]}}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: np, namespace: shop}}\nspec:\n  podSelector: {{matchLabels: {{app: web}}}}\n  ingress: [{{ports: [{{port: {long}}}]}}]\n"
        ),
    );
    let r = run(&["explain", "pod/web", "-n", "shop", "-f", &file], None);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!r.stderr.is_empty());
    for line in r.stderr.lines() {
        assert!(line.len() < 400, "{line}");
    }
}

// ---------------------------------------------------------------------------
// Fuzzing: our corpus of hostile files, and mutated valid manifests
// ---------------------------------------------------------------------------

/// What any run on any input must look like: a documented exit code for
/// `list` (0, or 1 for an error or invalid policies), no panic (checked by
/// [`run`]), every stderr line a `warning:`, an `error:` (at most one) or
/// the `  * ` detail of an invalid policy (or kubectl's `No resources
/// found`), and a failure with nothing on stdout says exactly one
/// `error:` line.
fn assert_well_behaved(what: &str, r: &Run) {
    assert!(
        matches!(r.code, 0 | 1),
        "{what}: exit {}: {}",
        r.code,
        r.stderr
    );
    let errors = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .count();
    for line in r.stderr.lines() {
        assert!(
            line.starts_with("error: ")
                || line.starts_with("warning: ")
                || line.starts_with("  * ")
                || line.starts_with("No resources found"),
            "{what}: stray stderr line {line:?}"
        );
    }
    assert!(errors <= 1, "{what}: {}", r.stderr);
    if r.code != 0 && r.stdout.is_empty() {
        assert_eq!(errors, 1, "{what}: {}", r.stderr);
    }
}

/// Every file of tests/fixtures/hostile (small, hand-written: alias bombs,
/// a self-referencing anchor, NUL bytes, a BOM, tabs, tags, junk in lists,
/// huge numbers, odd keys, control characters) through `list` and
/// `matrix`, from a file and from stdin.
#[test]
fn hostile_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert!(files.len() >= 10);
    for file in files {
        let path = file.display().to_string();
        let r = run(&["list", "-A", "-f", &path], None);
        assert_well_behaved(&path, &r);
        let bytes = std::fs::read(&file).unwrap();
        let r = run(&["matrix", "-A", "-f", "-"], Some(&bytes));
        assert!(matches!(r.code, 0 | 1), "{path}: {}", r.stderr);
        assert!(
            r.stderr
                .lines()
                .filter(|l| l.starts_with("error: "))
                .count()
                <= 1
        );
    }
}

/// A small seeded generator (xorshift64*), so that a failing case is
/// reproduced by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// YAML that tends to break readers.
const TOKENS: &[&str] = &[
    "&a ",
    "*a",
    "<<: *a\n",
    "<<: ",
    "[",
    "]",
    "{",
    "}",
    "---\n",
    "...\n",
    ": ",
    "- ",
    "? ",
    ".nan",
    ".inf",
    "yes",
    "010",
    "1_0",
    "0x",
    "~",
    "!!binary ",
    "!!str ",
    "!x ",
    "\t",
    "\"",
    "'",
    "\\",
    "|\n",
    ">-\n",
    "#",
    "%YAML 1.1\n",
    "\u{0}",
    "\u{feff}",
    "\u{202e}",
    "\u{1b}[2J",
    "99999999999999999999999",
    "-1",
    "kind: List\nitems:\n",
    "items: 7\n",
    "apiVersion: v1\n",
    "kind: NetworkPolicy\n",
    "namespace: ",
    "\n  ",
    "\n",
    " ",
];

/// One mutation of `text`: delete, duplicate or move a slice, insert
/// tokens, change indentation.
fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut b: Vec<u8> = text.as_bytes().to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = b.len();
        let at = rng.below(len + 1);
        let span = rng.below(64).min(len - at.min(len));
        match rng.below(5) {
            0 => {
                b.drain(at..at + span);
            }
            1 => {
                let piece = b[at..at + span].to_vec();
                let to = rng.below(b.len() + 1);
                b.splice(to..to, piece);
            }
            2 | 3 => {
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes().to_vec();
                b.splice(at..at, t);
            }
            _ => {
                // Indent or dedent one line.
                let line = b[..at]
                    .iter()
                    .rposition(|&c| c == b'\n')
                    .map_or(0, |i| i + 1);
                if b.get(line) == Some(&b' ') && rng.below(2) == 0 {
                    b.remove(line);
                } else {
                    b.splice(line..line, *b"  ");
                }
            }
        }
    }
    // Invalid UTF-8 is a case of its own (the corpus has NUL bytes); keep
    // the mutations readable as text.
    String::from_utf8_lossy(&b).into_owned()
}

fn seed_manifests() -> Vec<String> {
    let shop = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shop");
    ["namespaces.yaml", "policies.yaml", "workloads.yaml"]
        .iter()
        .map(|f| std::fs::read_to_string(shop.join(f)).expect("example"))
        .chain([format!(
            "apiVersion: v1\nkind: List\nitems:\n- {}",
            POD.replace('\n', "\n  ")
        )])
        .collect()
}

/// Property: mutations of valid manifests never panic, in the library
/// (many cases, in process) and through the binary under the memory limit
/// (fewer: a process each), and every run is well behaved. More cases:
/// `NETPOL_FUZZ_CASES=5000 cargo test --test hostile mutated`.
#[test]
fn mutated_manifests_never_panic_and_fail_cleanly() {
    let cases: u64 = std::env::var("NETPOL_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let seeds = seed_manifests();
    for seed in 1..=cases {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let base = rng.below(seeds.len());
        let text = mutate(&mut rng, &seeds[base]);
        let loaded = std::panic::catch_unwind(|| {
            let _ = netpol::source::files::load_str("fuzz.yaml", &text, "default");
        });
        assert!(loaded.is_ok(), "seed {seed} panicked on:\n{text}");
        // One in ten through the binary, with its memory bounded.
        if seed % 10 == 0 {
            let r = run(&["list", "-A", "-f", "-"], Some(text.as_bytes()));
            assert_well_behaved(&format!("seed {seed}"), &r);
        }
    }
}

// ---------------------------------------------------------------------------
// Item 10: memory bounded by the answer, not the input's shape
// ---------------------------------------------------------------------------

/// `n` small pods with many labels (many YAML nodes per byte), as one
/// `kind: List` (block style, as `kubectl get -o yaml` prints) or as
/// separate documents.
fn many_pods(n: usize, list: bool) -> String {
    let labels: Vec<String> = (0..20).map(|k| format!("l{k}: v{k}")).collect();
    let labels = labels.join(", ");
    let mut out = String::from(if list {
        "apiVersion: v1\nkind: List\nitems:\n"
    } else {
        ""
    });
    for i in 0..n {
        let pod = format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: pod-{i}\n  namespace: ns-{}\n  labels: {{{labels}}}\nspec:\n  containers:\n  - name: c\n    ports: [{{containerPort: 8080, name: http}}]\n",
            i % 50
        );
        if list {
            out.push_str("- ");
            out.push_str(&pod.trim_end().replace('\n', "\n  "));
            out.push('\n');
        } else {
            out.push_str("---\n");
            out.push_str(&pod);
        }
    }
    out
}

/// A 1.4 MB `kind: List` is read item by item: it needs no more memory
/// than the same pods as separate documents (it took twice as much, and
/// failed under this limit, when the list was read whole).
#[test]
fn a_big_list_is_read_item_by_item() {
    const LIMIT: u64 = 80 << 20;
    let dir = TempDir::new().unwrap();
    let list = write(dir.path(), "list.yaml", &many_pods(4000, true));
    let docs = write(dir.path(), "docs.yaml", &many_pods(4000, false));
    let from_docs = run_within(LIMIT, &["coverage", "-A", "-o", "json", "-f", &docs], None);
    assert_eq!(from_docs.code, 0, "{}", from_docs.stderr);
    let from_list = run_within(LIMIT, &["coverage", "-A", "-o", "json", "-f", &list], None);
    assert_eq!(from_list.code, 0, "{}", from_list.stderr);
    assert_eq!(from_list.stdout, from_docs.stdout);
}

/// Cut into items, a big list still reports errors where they are (item
/// and line), and a big list with anchors (which cannot be cut) is still
/// read.
#[test]
fn a_big_list_reports_errors_by_item_and_line() {
    let dir = TempDir::new().unwrap();
    let mut text = many_pods(4000, true);
    // Item 3001's name becomes a list: a wrongly typed Pod, left out with a
    // warning naming its item.
    let at = text.find("name: pod-3000\n").unwrap();
    text.replace_range(at..at + "name: pod-3000".len(), "name: [pod-3000]");
    let file = write(dir.path(), "list.yaml", &text);
    let r = run(&["list", "-A", "-f", &file], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("document 1, item 3001"), "{}", r.stderr);
    // A syntax error inside item 2 names the line of the whole file.
    let mut broken = many_pods(4000, true);
    let at = broken.find("name: pod-1\n").unwrap();
    broken.replace_range(at..at + "name: pod-1".len(), "name: [pod-1");
    let line = broken[..at].lines().count() + 1;
    let file = write(dir.path(), "broken.yaml", &broken);
    let err = one_error(&run(&["list", "-A", "-f", &file], None), 1);
    assert!(err.contains("document 1"), "{err}");
    assert!(
        err.contains(&format!("line {line}")) || err.contains(&format!("line {}", line + 1)),
        "{err}"
    );
    // Anchors: read through the parser (items streamed from its events).
    let anchored = many_pods(4000, true).replacen("labels: {", "labels: &l {", 1)
        + "- {apiVersion: v1, kind: Pod, metadata: {name: last, namespace: ns-0, labels: *l}}\n";
    let file = write(dir.path(), "anchored.yaml", &anchored);
    let r = run(&["explain", "pod/last", "-n", "ns-0", "-f", &file], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("l19=v19"), "{}", r.stdout);
}

/// A server whose answer never ends: the body is cut at the client's limit
/// and the command ends in one error line, without --request-timeout and
/// within the memory limit (it used to read until memory ran out).
#[test]
fn an_endless_response_body_is_bounded() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let mut request = [0u8; 65536];
                let _ = conn.read(&mut request);
                let chunk = vec![b' '; 1 << 16];
                let mut piece = format!("{:x}\r\n", chunk.len()).into_bytes();
                piece.extend_from_slice(&chunk);
                piece.extend_from_slice(b"\r\n");
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n";
                if conn.write_all(head.as_bytes()).is_err() {
                    return;
                }
                while conn.write_all(&piece).is_ok() {}
            });
        }
    });
    let home = TempDir::new().unwrap();
    let kubeconfig = write(
        home.path(),
        "config",
        &format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: \"http://127.0.0.1:{port}\"}}\nusers:\n- name: u\n  user: {{token: t}}\ncontexts:\n- name: c\n  context: {{cluster: c, user: u, namespace: shop}}\ncurrent-context: c\n"
        ),
    );
    let line = one_error(&run(&["list", "--kubeconfig", &kubeconfig], None), 1);
    assert!(
        line.contains("the server's response is larger than 64 MiB"),
        "{line}"
    );
}

/// `| head`: a reader that goes away early is not an error: exit 0 and
/// nothing on stderr (this held before issue 12; kept by this test).
#[test]
fn a_closed_pipe_is_quiet() {
    use std::io::Read;
    let dir = TempDir::new().unwrap();
    let file = write(dir.path(), "pods.yaml", &many_pods(200, false));
    let home = TempDir::new().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubectl-netpol"))
        .args(["matrix", "-A", "-o", "json", "-f", &file])
        .env_clear()
        .env("HOME", home.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    let mut head = [0u8; 100];
    let mut stdout = child.stdout.take().unwrap();
    stdout.read_exact(&mut head).expect("some output");
    drop(stdout);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

/// `n` pods, each with labels of its own and an IP, and no policy: every
/// pod is a class of its own and every ordered pair may connect.
fn distinct_pods(n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        out.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: pod-{i}\n  namespace: ns-{}\n  labels: {{app: a{i}}}\nspec:\n  containers:\n  - name: c\n    image: x\nstatus:\n  podIP: 10.1.{}.{}\n",
            i % 50,
            i / 250,
            i % 250 + 1
        ));
    }
    out
}

/// What [`matrix_streams`] lets the binary use beyond its own loaded
/// segments (a debug binary's code grows with every feature: 44 MB when
/// the whole limit was a fixed 48 MiB): 700 pods as 489,300 pairs held
/// whole (the pairs, then 38 MB of JSON) need far more, and aborted under
/// it; written as they are made they need ~6 MiB.
const MATRIX_BUDGET: u64 = 16 << 20;

/// The bytes the loader maps for an ELF64 executable: the sum of its
/// PT_LOAD segments' sizes in memory (its debug information is not
/// loaded).
fn loaded_size(path: &str) -> u64 {
    let bytes = std::fs::read(path).expect("read the binary");
    assert_eq!(&bytes[..5], b"\x7fELF\x02", "an ELF64 binary");
    let u16_at = |o: usize| u16::from_le_bytes(bytes[o..o + 2].try_into().unwrap()) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap());
    let (phoff, phentsize, phnum) = (u64_at(0x20) as usize, u16_at(0x36), u16_at(0x38));
    (0..phnum)
        .map(|i| phoff + i * phentsize)
        .filter(|&h| u32::from_le_bytes(bytes[h..h + 4].try_into().unwrap()) == 1)
        .map(|h| u64_at(h + 0x28))
        .sum()
}

/// Runs `matrix` under its loaded size plus [`MATRIX_BUDGET`] of address
/// space, with stdout read (and counted) as
/// it comes, or, with `keep`, only its first `keep` bytes read before the
/// pipe is closed. Returns the exit code, the bytes read, the last line
/// read and stderr.
fn matrix_under_limit(args: &[&str], keep: Option<usize>) -> (i32, usize, String, String) {
    use std::io::Read;
    let home = TempDir::new().unwrap();
    let mut child = Command::new("prlimit")
        .arg(format!(
            "--as={}",
            loaded_size(env!("CARGO_BIN_EXE_kubectl-netpol")) + MATRIX_BUDGET
        ))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_kubectl-netpol"))
        .args(args)
        .env_clear()
        .env("HOME", home.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run prlimit (util-linux)");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let (mut total, mut tail) = (0usize, Vec::new());
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let want = keep.map_or(buf.len(), |k| (k - total).min(buf.len()));
        if want == 0 {
            break;
        }
        let n = stdout.read(&mut buf[..want]).expect("read stdout");
        if n == 0 {
            break;
        }
        total += n;
        tail.extend_from_slice(&buf[..n]);
        if tail.len() > 4096 {
            tail.drain(..tail.len() - 4096);
        }
    }
    drop(stdout);
    let status = child.wait().expect("wait");
    let text = String::from_utf8_lossy(&tail).into_owned();
    let last = text
        .trim_end()
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    (
        status.code().unwrap_or(-1),
        total,
        last,
        errors.join().unwrap(),
    )
}

/// Item 10: `matrix` writes its answer as it makes it, so memory does not
/// grow with the pairs: 700 pods that are each a class of their own, every
/// pair allowed (38 MB of JSON, 17 MB of text), fit in 48 MiB of address
/// space, where the whole answer held in memory did not.
#[test]
fn matrix_streams() {
    let dir = TempDir::new().unwrap();
    let file = write(dir.path(), "pods.yaml", &distinct_pods(700));
    let (code, bytes, last, stderr) =
        matrix_under_limit(&["matrix", "-A", "-o", "json", "-f", &file], None);
    assert_eq!((code, stderr.as_str(), last.as_str()), (0, "", "}"));
    assert!(bytes > 30_000_000, "{bytes} bytes of JSON");
    let (code, bytes, last, stderr) = matrix_under_limit(&["matrix", "-A", "-f", &file], None);
    assert_eq!((code, stderr.as_str()), (0, ""));
    assert_eq!(
        last,
        "700 pods; 489300 of 489300 ordered pairs may connect; the other 0 may not connect on any port."
    );
    assert!(bytes > 10_000_000, "{bytes} bytes of text");
}

/// `| head -1` on a large matrix: the reader goes away while the answer is
/// being written; exit 0, nothing on stderr, and no more memory than the
/// beginning of the answer needs (JSON, YAML and the text list).
#[test]
fn a_closed_pipe_stops_a_large_matrix_quietly() {
    let dir = TempDir::new().unwrap();
    let file = write(dir.path(), "pods.yaml", &distinct_pods(700));
    for format in ["json", "yaml", "text"] {
        let (code, bytes, _, stderr) =
            matrix_under_limit(&["matrix", "-A", "-o", format, "-f", &file], Some(10));
        assert_eq!((code, stderr.as_str(), bytes), (0, "", 10), "-o {format}");
    }
}

/// Any other failure to write stdout is one error line and exit 1.
#[test]
fn a_full_disk_is_one_error_line() {
    let dir = TempDir::new().unwrap();
    let file = write(dir.path(), "pods.yaml", &distinct_pods(30));
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl-netpol"))
        .args(["matrix", "-A", "-o", "json", "-f", &file])
        .env_clear()
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: writing output: ") && stderr.lines().count() == 1,
        "{stderr}"
    );
}

/// Input with no end and no structure (a device, a binary file) is refused
/// as soon as it shows what it is, within the memory limit: it was read
/// into one growing line until the allocation failed.
#[test]
fn endless_or_binary_input_is_refused_at_once() {
    let zero = one_error(&run(&["list", "-A", "-f", "/dev/zero"], None), 1);
    assert!(
        zero.contains("control characters are not allowed"),
        "{zero}"
    );
    let random = one_error(&run(&["list", "-A", "-f", "/dev/urandom"], None), 1);
    assert!(
        random.contains("not UTF-8 text") || random.contains("control characters"),
        "{random}"
    );
    // A NUL byte in a later line of an otherwise fine document.
    let text = b"apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\nx: \0\n".to_vec();
    let nul = one_error(&run(&["list", "-A", "-f", "-"], Some(&text)), 1);
    assert!(nul.contains("line 4: control characters"), "{nul}");
}

/// Links that reach one directory by many paths (no loop): each directory
/// is read once, so the walk stays linear (it was exponential: 2^depth).
#[test]
fn recursive_walk_reads_each_directory_once() {
    let root = tempfile::tempdir().unwrap();
    let depth = 30;
    for i in 0..=depth {
        std::fs::create_dir(root.path().join(format!("d{i}"))).unwrap();
    }
    for i in 0..depth {
        for link in ["a", "b"] {
            std::os::unix::fs::symlink(
                format!("../d{}", i + 1),
                root.path().join(format!("d{i}")).join(link),
            )
            .unwrap();
        }
    }
    write(
        &root.path().join(format!("d{depth}")),
        "ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: deep}\n",
    );
    let d0 = root.path().join("d0").display().to_string();
    let r = run(&["list", "-A", "-R", "-f", &d0, "-o", "json"], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// A warning is one line, whatever the names in it: a line break in an
/// object's name could forge an `error:` line; a huge name is shortened
/// (`-v=1` shows it whole).
#[test]
fn warnings_stay_one_line() {
    let doc = |name: &str| {
        format!(
            "{{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {{\"name\": \"{name}\", \"namespace\": \"a\", \"labels\": {{\"app\": [1]}}}}}}\n"
        )
    };
    let forged = doc("p\\nerror: forged");
    let r = run(&["list", "-A", "-f", "-"], Some(forged.as_bytes()));
    assert!(
        r.stderr.starts_with("warning: ") && !r.stderr.lines().any(|l| l.starts_with("error:")),
        "{:?}",
        r.stderr
    );
    assert!(r.stderr.contains("a/p?error: forged"), "{:?}", r.stderr);
    let long = doc(&"x".repeat(20_000));
    let r = run(&["list", "-A", "-f", "-"], Some(long.as_bytes()));
    assert!(r.stderr.len() < 1200, "{} bytes", r.stderr.len());
    assert!(r.stderr.contains("-v=1 shows it whole"), "{:?}", r.stderr);
    let r = run(&["list", "-A", "-v=1", "-f", "-"], Some(long.as_bytes()));
    assert!(r.stderr.len() > 20_000, "{} bytes", r.stderr.len());
}

/// Each document within go-yaml's alias ratio, but many of them: the
/// expansion is counted across the input too, before memory grows (ten
/// 22 KB documents each expanding to ~400,000 values took gigabytes).
#[test]
fn aliases_are_bounded_across_documents() {
    let text = aliased_policies(10);
    let err = one_error(&run(&["list", "-A", "-f", "-"], Some(text.as_bytes())), 1);
    assert!(err.contains("aliases together expand the input"), "{err}");
    // One such document alone is within both bounds.
    let one = aliased_policies(1);
    let r = run(&["list", "-A", "-f", "-"], Some(one.as_bytes()));
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// A JSON `kind: List` (what `kubectl get -o json` prints) is read item by
/// item too: 40 MB of pods within a 200 MB address space (it took about
/// five times its size and aborted there).
#[test]
fn a_big_json_list_is_read_item_by_item() {
    let pad = "z".repeat(8000);
    let items: Vec<String> = (0..5000)
        .map(|i| {
            format!(
                "    {{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {{\"name\": \"p{i}\", \"namespace\": \"ns{}\", \"labels\": {{\"app\": \"yes\"}}, \"annotations\": {{\"pad\": \"{pad}\"}}}}, \"spec\": {{\"containers\": [{{\"name\": \"c\", \"image\": \"i\"}}]}}, \"status\": {{\"phase\": \"Running\", \"podIP\": \"10.{}.{}.{}\"}}}}",
                i % 50,
                i / 65536,
                (i / 256) % 256,
                i % 256
            )
        })
        .collect();
    let text = format!(
        "{{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": [\n{}\n  ]\n}}\n",
        items.join(",\n")
    );
    assert!(text.len() > 30 << 20);
    let r = run_within(
        200_000_000,
        &["coverage", "-A", "-f", "-", "-o", "json"],
        Some(text.as_bytes()),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    assert_eq!(
        v["total"]["pods"],
        5000,
        "{}",
        &r.stdout[..200.min(r.stdout.len())]
    );
}

// ---------------------------------------------------------------------------
// Issue 17: documents parsed on every core, with the same bounds
// ---------------------------------------------------------------------------

/// Nine levels of ten aliases (10^9 leaves), as one ConfigMap document.
fn alias_bomb() -> String {
    let mut bomb = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n".to_string();
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        bomb.push_str(&format!("  a{i}: &a{i} [{refs}]\n"));
    }
    bomb
}

/// `n` NetworkPolicy documents each within go-yaml's alias ratio, which
/// together expand past the input-wide bound (as in
/// `aliases_are_bounded_across_documents`).
fn aliased_policies(n: usize) -> String {
    let ports: Vec<String> = (0..30)
        .map(|i| format!("{{port: {}, protocol: TCP}}", 1000 + i))
        .collect();
    let doc = |d: usize| {
        let mut lines = vec![
            "apiVersion: networking.k8s.io/v1".to_string(),
            "kind: NetworkPolicy".to_string(),
            format!("metadata: {{name: p{d}, namespace: a}}"),
            "spec:".to_string(),
            "  podSelector: {}".to_string(),
            "  ingress:".to_string(),
            format!(
                "  - &r {{from: [{{podSelector: {{}}}}, {{ipBlock: {{cidr: 10.0.0.0/8}}}}], ports: [{}]}}",
                ports.join(", ")
            ),
        ];
        lines.extend(std::iter::repeat_n("  - *r".to_string(), 3000));
        lines.join("\n")
    };
    (0..n).map(doc).collect::<Vec<_>>().join("\n---\n")
}

/// The hostile inputs the one-thread reading bounds: alias bombs alone
/// and after other documents, aliases across documents (refused and
/// within the bound), nesting past the limits, broken and wrongly typed
/// documents among many, a huge number of tiny documents, the corpus of
/// tests/fixtures/hostile and mutated manifests.
fn hostile_inputs() -> Vec<(String, String)> {
    let mut inputs = vec![
        ("bomb".to_string(), alias_bomb()),
        (
            "bomb after pods".to_string(),
            format!("{}---\n{}", many_pods(200, false), alias_bomb()),
        ),
        ("aliases x10".to_string(), aliased_policies(10)),
        ("aliases x3".to_string(), aliased_policies(3)),
        (
            "aliases x10 after pods".to_string(),
            format!("{}---\n{}", many_pods(300, false), aliased_policies(10)),
        ),
        (
            "deep flow".to_string(),
            format!(
                "{POD}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: deep}}\ndata: {}x{}\n",
                "[".repeat(20_000),
                "]".repeat(20_000)
            ),
        ),
        (
            "deep block".to_string(),
            format!(
                "{POD}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: deep}}\ndata:\n{}x\n",
                (0..300)
                    .map(|i| format!("{}-\n", " ".repeat(i)))
                    .collect::<String>()
            ),
        ),
        ("tiny documents".to_string(), "---\n".repeat(5000) + POD),
        (
            "document end markers".to_string(),
            format!("{POD}...\n---\n{POD}...\n{}", many_pods(50, false)),
        ),
        (
            // A document after `...` without `---` (refused alike).
            "a document after its end marker".to_string(),
            format!(
                "{}---\n{POD}...\n{}{}---\n{}",
                many_pods(100, false),
                POD.replace("name: web", "name: web2"),
                many_pods(100, false),
                "apiVersion: v1\nkind: Pod\nmetadata: {namespace: a}\n"
            ),
        ),
    ];
    let mut typed = many_pods(400, false);
    let at = typed.find("name: pod-300\n").unwrap();
    typed.replace_range(at..at + "name: pod-300".len(), "name: [pod-300]");
    inputs.push(("wrongly typed among many".into(), typed));
    let mut broken = many_pods(400, false);
    let at = broken.find("name: pod-250\n").unwrap();
    broken.replace_range(at..at + "name: pod-250".len(), "name: [pod-250");
    inputs.push(("broken among many".into(), broken));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        if let Ok(text) = String::from_utf8(bytes) {
            inputs.push((file.display().to_string(), text));
        }
    }
    let seeds = seed_manifests();
    for seed in 1..=200u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let text: Vec<String> = (0..1 + rng.below(6))
            .map(|_| {
                let base = rng.below(seeds.len());
                mutate(&mut rng, &seeds[base])
            })
            .collect();
        inputs.push((format!("mutated {seed}"), text.join("---\n")));
    }
    inputs
}

/// Issue 17: the hostile inputs read in process on several threads (in
/// batches small enough that every input is cut into many) give what one
/// thread gives: the same snapshot and warnings, or the same error (the
/// first in input order, with the same document and line), alias bounds
/// included. Each reading runs on a thread of its own, whose input-wide
/// alias count starts at zero as a command's does.
#[test]
fn several_threads_read_hostile_input_as_one_thread() {
    use netpol::source::files::{Parallel, Reading, read_str_with};
    let read = |text: &str, parallel: Parallel| {
        let text = text.to_string();
        std::thread::spawn(move || {
            match read_str_with("in.yaml", &text, "default", Reading::Fast, parallel) {
                Ok((snapshot, warnings)) => format!("{snapshot:#?}\n{warnings:#?}"),
                Err(e) => format!("error: {e}"),
            }
        })
        .join()
        .expect("no panic")
    };
    let mut errors = 0;
    for (name, text) in hostile_inputs() {
        let one = read(&text, Parallel::SERIAL);
        errors += usize::from(one.starts_with("error: "));
        for batch_bytes in [300, 5_000, 100_000] {
            let parallel = Parallel {
                threads: 2,
                batch_bytes,
            };
            let several = read(&text, parallel);
            assert!(
                several == one,
                "{name}, {parallel:?}:\n{several}\nvs one thread:\n{one}"
            );
        }
    }
    assert!(errors > 20, "{errors} errors");
}

/// Issue 17 through the binary, under the memory limit: inputs large
/// enough to start the reading pool (past one batch) answer alike with
/// NETPOL_THREADS=1 and with the default (every core): output, warnings,
/// errors and exit code. A NETPOL_THREADS that is not a number of threads
/// is a usage error.
#[test]
fn netpol_threads_one_and_every_core_answer_alike() {
    let dir = TempDir::new().unwrap();
    let mut typed = many_pods(4000, false);
    let at = typed.find("name: pod-3000\n").unwrap();
    typed.replace_range(at..at + "name: pod-3000".len(), "name: [pod-3000]");
    let mut broken = many_pods(4000, false);
    let at = broken.find("name: pod-2500\n").unwrap();
    broken.replace_range(at..at + "name: pod-2500".len(), "name: [pod-2500");
    let cases = [
        ("typed", typed),
        ("broken", broken),
        ("aliases", aliased_policies(30)),
        (
            "bomb",
            format!("{}---\n{}", many_pods(2000, false), alias_bomb()),
        ),
        ("docs", many_pods(4000, false)),
    ];
    let mut errors = 0;
    for (name, text) in cases {
        assert!(text.len() > 300 << 10, "{name}: past one batch");
        let file = write(dir.path(), &format!("{name}.yaml"), &text);
        for args in [
            &["list", "-A", "-f", &file][..],
            &["coverage", "-A", "-o", "json", "-f", &file][..],
        ] {
            let one = run_with_env(MEMORY_LIMIT, &[("NETPOL_THREADS", "1")], args, None);
            let every = run(args, None);
            assert_eq!(
                (one.code, &one.stdout, &one.stderr),
                (every.code, &every.stdout, &every.stderr),
                "{name}: {args:?}"
            );
            errors += usize::from(one.code != 0);
        }
    }
    assert_eq!(errors, 6, "broken, aliases and bomb are refused");
    for bad in ["0", "two", "-1"] {
        let r = run_with_env(
            MEMORY_LIMIT,
            &[("NETPOL_THREADS", bad)],
            &["list", "-A", "-f", "-"],
            Some(POD.as_bytes()),
        );
        let line = one_error(&r, 2);
        assert!(line.contains("NETPOL_THREADS"), "{line}");
    }
}
