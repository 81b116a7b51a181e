//! The real kube-apiserver + etcd that `scripts/e2e-cluster` starts
//! (NETPOL_E2E_DIR names its directory), for the end-to-end test binaries
//! (tests/e2e.rs, tests/e2e_services.rs, tests/e2e_input.rs): kubectl as
//! admin, pods with IPs set through the status subresource, and our
//! binary through kubectl's plugin dispatch as any of the test users.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

pub struct Cluster {
    pub dir: PathBuf,
    pub bin: PathBuf,
    pub server: String,
}

pub fn cluster() -> Option<Cluster> {
    let Some(dir) = std::env::var_os("NETPOL_E2E_DIR") else {
        if std::env::var_os("CI").is_some() {
            panic!(
                "NETPOL_E2E_DIR is not set: in CI the end-to-end tests must run (use scripts/test-all)"
            );
        }
        eprintln!(
            "\n*** SKIPPED: end-to-end test (NETPOL_E2E_DIR unset; run scripts/test-all) ***\n"
        );
        return None;
    };
    let dir = PathBuf::from(dir);
    let env = std::fs::read_to_string(dir.join("env")).expect("e2e env file");
    let get = |k: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("{k} in env"))
            .to_string()
    };
    Some(Cluster {
        bin: PathBuf::from(get("BIN")),
        server: get("SERVER"),
        dir,
    })
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl Cluster {
    pub fn kubeconfig(&self, user: &str) -> String {
        self.dir
            .join(format!("{user}.kubeconfig"))
            .display()
            .to_string()
    }

    /// The server's own kubectl, as admin.
    pub fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(self.bin.join("kubectl"));
        cmd.arg("--kubeconfig")
            .arg(self.kubeconfig("admin"))
            .args(args);
        run(cmd, stdin)
    }

    pub fn apply(&self, yaml: &str) {
        let out = self.kubectl(&["apply", "-f", "-"], Some(yaml));
        assert!(
            out.status.success(),
            "kubectl apply: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A fresh namespace name for one test.
    pub fn namespace(&self, prefix: &str) -> String {
        format!("{prefix}-{}", self.unique())
    }

    /// `PID-N`: unique to this test process and call, for object names.
    pub fn unique(&self) -> String {
        format!(
            "{}-{}",
            std::process::id() % 10000,
            COUNTER.fetch_add(1, Ordering::SeqCst)
        )
    }

    /// Creates a pod and sets its IP through the status subresource (there
    /// is no kubelet to do it).
    pub fn pod(&self, ns: &str, name: &str, labels: &str, ports: &str, ip: &str) {
        self.apply(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {ns}, labels: {{{labels}}}}}\nspec:\n  nodeName: node-1\n  containers: [{{name: c, image: registry.example/app:1, ports: [{ports}]}}]\n"
        ));
        let patch = format!(
            r#"{{"status":{{"phase":"Running","podIP":"{ip}","podIPs":[{{"ip":"{ip}"}}]}}}}"#
        );
        self.patch_status("pod", Some(ns), name, &patch);
    }

    /// A PATH on which kubectl finds the plugin under test first, then the
    /// test binaries (kubectl itself), then the caller's PATH.
    pub fn plugin_path(&self) -> String {
        let plugin_dir = Path::new(env!("CARGO_BIN_EXE_kubectl-netpol"))
            .parent()
            .unwrap();
        format!(
            "{}:{}:{}",
            plugin_dir.display(),
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// `kubectl netpol ARGS` through kubectl's plugin dispatch, with a clean
    /// environment (no KUBECONFIG, empty HOME) plus `env`.
    pub fn netpol(&self, args: &[&str], env: &[(&str, String)]) -> Output {
        let path = self.plugin_path();
        let home = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(self.bin.join("kubectl"));
        cmd.env_clear()
            .env("PATH", path)
            .env("HOME", home.path())
            .arg("netpol")
            .args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        run(cmd, None)
    }

    /// `kubectl netpol ARGS --kubeconfig <user>`.
    pub fn as_user(&self, user: &str, args: &[&str]) -> Output {
        let kc = self.kubeconfig(user);
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--kubeconfig", kc.as_str()]);
        self.netpol(&all, &[])
    }
}

pub fn run(mut cmd: Command, stdin: Option<&str>) -> Output {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait_with_output().expect("wait")
}

/// Stdout, after checking the exit code is `want` (both streams shown
/// when it is not).
#[allow(dead_code)]
pub fn code(o: &Output, want: i32) -> String {
    assert_eq!(
        o.status.code(),
        Some(want),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn ok(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

pub fn json(o: &Output) -> Value {
    serde_json::from_str(&ok(o)).expect("JSON output")
}

impl Cluster {
    /// Sets `status` of an object through the status subresource (a merge
    /// patch, as the kubelet or a controller would report it); `ns` is
    /// `None` for cluster-scoped kinds (nodes).
    pub fn patch_status(&self, kind: &str, ns: Option<&str>, name: &str, patch: &str) {
        let mut args = vec!["patch", kind, name];
        if let Some(ns) = ns {
            args.extend(["-n", ns]);
        }
        args.extend(["--subresource=status", "--type=merge", "-p", patch]);
        let out = self.kubectl(&args, None);
        assert!(
            out.status.success(),
            "patch {kind}/{name} status: {}",
            stderr(&out)
        );
    }

    /// Creates a fresh namespace (labelled `team: <name>`) and returns its name.
    /// Edits a NetworkPolicy by hand (`kubectl patch`, field manager
    /// kubectl-patch): its first ingress rule's first port becomes `port`.
    pub fn hand_edit_port(&self, ns: &str, name: &str, port: u16) {
        let patch =
            format!(r#"[{{"op":"replace","path":"/spec/ingress/0/ports/0/port","value":{port}}}]"#);
        ok(&self.kubectl(
            &[
                "patch",
                "networkpolicy",
                name,
                "-n",
                ns,
                "--type=json",
                "-p",
                &patch,
            ],
            None,
        ));
    }

    pub fn create_namespace(&self, prefix: &str) -> String {
        let name = self.namespace(prefix);
        self.apply(&format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}, labels: {{team: {name}}}}}\n"
        ));
        name
    }

    /// Lets carol get and list `core` resources (pods, services...) and
    /// networkpolicies in namespace `ns` only: a namespace-scoped user.
    pub fn bind_carol(&self, ns: &str, core: &str) {
        self.apply(&format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: reader, namespace: {ns}}}\nrules:\n- apiGroups: ['']\n  resources: [{core}]\n  verbs: [get, list]\n- apiGroups: [networking.k8s.io]\n  resources: [networkpolicies]\n  verbs: [get, list]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: carol-reader, namespace: {ns}}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}}\nsubjects:\n- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: carol}}\n"
        ));
    }

    /// The ClusterIP the apiserver gave a Service.
    pub fn cluster_ip(&self, ns: &str, name: &str) -> String {
        let out = self.kubectl(
            &[
                "get",
                "svc",
                name,
                "-n",
                ns,
                "-o",
                "jsonpath={.spec.clusterIP}",
            ],
            None,
        );
        assert!(out.status.success(), "get svc: {}", stderr(&out));
        stdout(&out)
    }

    /// Our binary itself (no plugin dispatch), with a clean environment;
    /// `stdin` is what `-f -` reads.
    pub fn binary(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let home = tempfile::tempdir().expect("temporary HOME");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubectl-netpol"));
        cmd.env_clear().env("HOME", home.path()).args(args);
        run(cmd, stdin)
    }
}

/// How many guards of this test process hold kube-controller-manager, and
/// whether this process started it (and so stops it when the last guard
/// goes).
static CONTROLLER_MANAGER: Mutex<(usize, bool)> = Mutex::new((0, false));

/// The real kube-controller-manager's garbage collector and namespace
/// controller run against the cluster while this lives (see
/// [`Cluster::garbage_collector`]).
pub struct GarbageCollector<'c>(&'c Cluster);

impl Cluster {
    /// Runs kube-controller-manager (its garbage collector and namespace
    /// controller only) until the guard is dropped: `scripts/e2e-cluster
    /// controller-manager start`, which returns once the collector has
    /// deleted a probe whose owner is gone. If the cluster was started
    /// with `--controller-manager`, it already runs and stays.
    ///
    /// The other end-to-end tests run without it: some create pods owned
    /// by ReplicaSets that do not exist, which it would delete. Test
    /// binaries run one after the other, so a binary that asks for it
    /// has it to itself.
    pub fn garbage_collector(&self) -> GarbageCollector<'_> {
        let mut held = CONTROLLER_MANAGER.lock().unwrap_or_else(|e| e.into_inner());
        if held.0 == 0 {
            let out = self.controller_manager("start");
            assert!(
                out.status.success(),
                "scripts/e2e-cluster controller-manager start: {}",
                stderr(&out)
            );
            held.1 = stdout(&out).trim() == "started";
        }
        held.0 += 1;
        GarbageCollector(self)
    }

    fn controller_manager(&self, what: &str) -> Output {
        let mut cmd =
            Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/e2e-cluster"));
        cmd.args(["controller-manager", what]).arg(&self.dir);
        run(cmd, None)
    }
}

impl Drop for GarbageCollector<'_> {
    fn drop(&mut self) {
        let mut held = CONTROLLER_MANAGER.lock().unwrap_or_else(|e| e.into_inner());
        held.0 -= 1;
        if held.0 == 0 && held.1 {
            let out = self.0.controller_manager("stop");
            if !out.status.success() {
                eprintln!(
                    "scripts/e2e-cluster controller-manager stop: {}",
                    stderr(&out)
                );
            }
            held.1 = false;
        }
    }
}

/// Deletes, when dropped (even after a failed assertion), the objects of
/// `files` (`kubectl delete -f`, waited for: a CRD takes its objects
/// with it) and then `namespaces`; then lets the garbage collector go,
/// if one was held: the namespace controller empties the namespaces
/// first (without it they would stay Terminating, and are not waited
/// for).
pub struct Teardown<'c> {
    pub c: &'c Cluster,
    pub files: Vec<&'static str>,
    pub namespaces: Vec<String>,
    pub gc: Option<GarbageCollector<'c>>,
}

impl Drop for Teardown<'_> {
    fn drop(&mut self) {
        for file in &self.files {
            let out = self.c.kubectl(
                &[
                    "delete",
                    "-f",
                    file,
                    "--ignore-not-found",
                    "--wait=true",
                    "--timeout=60s",
                ],
                None,
            );
            if !out.status.success() {
                eprintln!("teardown: {}", stderr(&out));
            }
        }
        if self.namespaces.is_empty() {
            return;
        }
        let wait = if self.gc.is_some() {
            "--wait=true"
        } else {
            "--wait=false"
        };
        let mut args = vec![
            "delete",
            "namespace",
            "--ignore-not-found",
            wait,
            "--timeout=60s",
        ];
        args.extend(self.namespaces.iter().map(String::as_str));
        let out = self.c.kubectl(&args, None);
        if !out.status.success() {
            eprintln!("teardown: {}", stderr(&out));
        }
    }
}
