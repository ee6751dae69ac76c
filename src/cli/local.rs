//! `--local`: the emulator on 127.0.0.1:$PROVISION_LOCAL_PORT, started if nothing answers.
//! The scripts in localstack/ are built into the binary, so it works from any folder.

use super::Error;
use std::path::PathBuf;
use std::time::Duration;

const SCRIPTS: [(&str, &str); 13] = [
    ("common.sh", include_str!("../../localstack/common.sh")),
    ("install", include_str!("../../localstack/install")),
    (
        "requirements.txt",
        include_str!("../../localstack/requirements.txt"),
    ),
    ("start", include_str!("../../localstack/start")),
    ("stop", include_str!("../../localstack/stop")),
    ("reset", include_str!("../../localstack/reset")),
    ("server.py", include_str!("../../localstack/server.py")),
    ("faults.py", include_str!("../../localstack/faults.py")),
    ("strict.py", include_str!("../../localstack/strict.py")),
    ("patches.py", include_str!("../../localstack/patches.py")),
    ("tasks.py", include_str!("../../localstack/tasks.py")),
    ("delays.py", include_str!("../../localstack/delays.py")),
    ("elb.py", include_str!("../../localstack/elb.py")),
];

pub fn port() -> u16 {
    std::env::var("PROVISION_LOCAL_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(4566)
}

fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("PROVISION_CACHE_DIR") {
        return d.into();
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("provision")
}

async fn answers(port: u16) -> bool {
    let connect = tokio::net::TcpStream::connect(("127.0.0.1", port));
    matches!(
        tokio::time::timeout(Duration::from_secs(1), connect).await,
        Ok(Ok(_))
    )
}

/// The endpoint URL of a running emulator.
pub async fn ensure_running() -> Result<String, Error> {
    let port = port();
    let url = format!("http://127.0.0.1:{port}");
    if answers(port).await {
        return Ok(url);
    }
    eprintln!(
        "provision: nothing answers on 127.0.0.1:{port}; starting the local AWS emulator (moto)…"
    );
    let dir = cache_dir().join("localstack");
    let fail = |e: std::io::Error| {
        Error::Usage(format!(
            "cannot write the emulator scripts to {}: {e}",
            dir.display()
        ))
    };
    std::fs::create_dir_all(&dir).map_err(fail)?;
    for (name, text) in SCRIPTS {
        std::fs::write(dir.join(name), text).map_err(fail)?;
    }
    let status = tokio::process::Command::new("bash")
        .arg(dir.join("start"))
        .env("PROVISION_LOCAL_PORT", port.to_string())
        .status()
        .await
        .map_err(|e| Error::Usage(format!("cannot run bash to start the emulator: {e}")))?;
    if !status.success() {
        return Err(Error::Usage(format!(
            "the local emulator did not start (see the messages above)\n  hint: it needs python3 with venv and access to PyPI once; or start one yourself on port {port}"
        )));
    }
    Ok(url)
}
