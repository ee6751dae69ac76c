//! The local emulator for end-to-end tests: started once per test run on a free port by
//! the project's own localstack/start, and gone when the test process ends.

use provision::aws::{Clients, Settings};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{OnceLock, RwLock};

pub struct Emulator {
    pub port: u16,
    pub url: String,
}

static EMULATOR: OnceLock<Emulator> = OnceLock::new();

/// Tests that check which calls a command made take this exclusively; the others share it.
pub static CALL_LOG: RwLock<()> = RwLock::new(());

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn get() -> &'static Emulator {
    EMULATOR.get_or_init(|| {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let status = Command::new("bash")
            .arg(root().join("localstack/start"))
            .env("PROVISION_LOCAL_PORT", port.to_string())
            .env(
                "PROVISION_EMULATOR_OWNER_PID",
                std::process::id().to_string(),
            )
            .status()
            .expect("bash runs localstack/start");
        assert!(status.success(), "localstack/start failed");
        Emulator {
            port,
            url: format!("http://127.0.0.1:{port}"),
        }
    })
}

pub async fn clients() -> Clients {
    let e = get();
    let conf = provision::aws::load(&Settings {
        local: true,
        endpoint_url: Some(e.url.clone()),
        ..Default::default()
    })
    .await;
    Clients::new(&conf)
}

/// Runs the real binary in `dir` with --local against the test emulator.
pub fn provision(dir: &std::path::Path, args: &[&str]) -> Output {
    provision_env(dir, args, &[])
}

/// Like `provision`, with environment variables set for the run.
pub fn provision_env(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let e = get();
    let out = Command::new(env!("CARGO_BIN_EXE_provision"))
        .envs(env.iter().copied())
        .current_dir(dir)
        .arg("--local")
        .arg("--no-color")
        .args(args)
        .env("PROVISION_LOCAL_PORT", e.port.to_string())
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the provision binary runs");
    eprintln!(
        "$ provision {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The emulator's log of the requests it served since the last clear.
fn request_log() -> Vec<serde_json::Value> {
    let body = http("GET", "/_provision/requests");
    let v: serde_json::Value = serde_json::from_str(&body).expect("request log is JSON");
    v["requests"].as_array().cloned().unwrap_or_default()
}

fn text_of(r: &serde_json::Value, key: &str) -> String {
    r[key].as_str().unwrap_or_default().to_string()
}

/// (service, action) of every request the emulator served since the last clear.
pub fn requests() -> Vec<(String, String)> {
    request_log()
        .iter()
        .map(|r| (text_of(r, "service"), text_of(r, "action")))
        .collect()
}

/// (action, when it came, when it was answered) of each request since the last clear, in
/// epoch seconds.
pub fn timed_requests() -> Vec<(String, f64, f64)> {
    request_log()
        .iter()
        .map(|r| {
            let at = |k: &str| r[k].as_f64().unwrap_or_default();
            (text_of(r, "action"), at("t0"), at("t1"))
        })
        .collect()
}

/// How many things each `action` request since the last clear named at once (the
/// services of a DescribeServices), in order.
pub fn batches(action: &str) -> Vec<u64> {
    request_log()
        .iter()
        .filter(|r| r["action"].as_str() == Some(action))
        .map(|r| r["batch"].as_u64().unwrap_or_default())
        .collect()
}

/// Waits (up to 10 s) until the emulator has answered every request it received. A killed
/// run's last requests are still served after it is gone (held by a latency fault), as AWS
/// applies a request that was already on its way.
pub fn wait_for_answers() {
    let start = std::time::Instant::now();
    while request_log().iter().any(|r| r.get("t1").is_none())
        && start.elapsed() < std::time::Duration::from_secs(10)
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

pub fn clear_requests() {
    http("POST", "/_provision/requests/clear");
}

/// Whether an AWS operation changes anything (everything but Describe/List/Get).
pub fn is_mutating(action: &str) -> bool {
    !["Describe", "List", "Get"]
        .iter()
        .any(|p| action.starts_with(p))
}

fn http(method: &str, path: &str) -> String {
    http_with(method, path, "")
}

fn http_with(method: &str, path: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", get().port)).expect("emulator answers");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    resp.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

/// One JSON-protocol call straight to the emulator, signed only as far as it reads (its
/// service and region), bypassing the SDK and its rate limits: the answer's status and body.
pub fn raw_json_call(service: &str, target: &str, body: &str) -> (u16, String) {
    raw_json_call_with(service, target, body, "")
}

/// `raw_json_call` with more headers, each ending in CRLF.
pub fn raw_json_call_with(service: &str, target: &str, body: &str, headers: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", get().port)).expect("emulator answers");
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: {target}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A certificate in the emulator's ACM, for HTTPS listeners (the tests have no ACM client).
pub fn acm_certificate(domain: &str) -> String {
    let (_, body) = raw_json_call(
        "acm",
        "CertificateManager.RequestCertificate",
        &format!(r#"{{"DomainName": "{domain}"}}"#),
    );
    let v: serde_json::Value = serde_json::from_str(&body).expect("ACM answers JSON");
    v["CertificateArn"]
        .as_str()
        .expect("a certificate ARN")
        .to_string()
}

/// A fresh folder holding `template` as stack.yaml, with the stack (and cluster) renamed.
/// A stack of `n` Fargate services (`s0`, `s1`, ...) of httpd in one security group, each
/// with `desired` tasks, in a directory of its own.
pub fn services_dir(stack: &str, n: usize, desired: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut yaml = format!("stack: {stack}\nsecurity_groups:\n  web: {{}}\nservices:\n");
    for i in 0..n {
        yaml.push_str(&format!(
            "  s{i}:\n    cpu: 256\n    memory: 512\n    desired_count: {desired}\n    security_groups: [web]\n    containers:\n      app: {{ image: httpd }}\n"
        ));
    }
    std::fs::write(dir.path().join("stack.yaml"), yaml).unwrap();
    dir
}

pub fn stack_dir(template: &str, stack: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("templates").join(template)).unwrap();
    let text = text
        .replace("stack: hello-httpd", &format!("stack: {stack}"))
        .replace("cluster: hello", &format!("cluster: {stack}"));
    std::fs::write(dir.path().join("stack.yaml"), text).unwrap();
    dir
}

/// Like `stack_dir`, for a template whose stack and cluster are named `from`.
pub fn stack_dir_named(template: &str, from: &str, stack: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("templates").join(template)).unwrap();
    let text = text
        .replace(&format!("stack: {from}\n"), &format!("stack: {stack}\n"))
        .replace(
            &format!("cluster: {from}\n"),
            &format!("cluster: {stack}\n"),
        );
    std::fs::write(dir.path().join("stack.yaml"), text).unwrap();
    dir
}

/// Fault injection in the emulator (localstack/faults.py); off again when dropped.
pub struct Faults;

impl Faults {
    pub fn set(settings: serde_json::Value) -> Faults {
        http_with("POST", "/_provision/faults", &settings.to_string());
        Faults
    }
    pub fn status() -> serde_json::Value {
        serde_json::from_str(&http("GET", "/_provision/faults")).unwrap()
    }
    pub fn release() {
        http("POST", "/_provision/faults/release");
    }
}

impl Drop for Faults {
    fn drop(&mut self) {
        http_with("POST", "/_provision/faults", "{}");
        Faults::release();
    }
}

/// The emulator's AWS-like delays (localstack/delays.py); back to the defaults when dropped.
pub struct Delays;

impl Delays {
    pub fn set(settings: serde_json::Value) -> Delays {
        http_with("POST", "/_provision/delays", &settings.to_string());
        Delays
    }
}

impl Drop for Delays {
    fn drop(&mut self) {
        http_with("POST", "/_provision/delays", r#"{"defaults": true}"#);
    }
}

/// Posts settings to one of the emulator's control endpoints.
pub fn control(path: &str, settings: serde_json::Value) -> serde_json::Value {
    serde_json::from_str(&http_with("POST", path, &settings.to_string())).unwrap_or_default()
}

/// The `outputs` object of `provision outputs --json` (its first JSON line).
pub fn json_outputs(out: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let first = stdout.lines().next().unwrap_or("{}");
    let v: serde_json::Value = serde_json::from_str(first).unwrap_or_default();
    v["outputs"].clone()
}
