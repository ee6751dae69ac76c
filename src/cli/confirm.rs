//! Asking before changing anything; never acting unasked without a terminal.

use super::Error;
use std::io::{BufRead, IsTerminal, Write};

/// The answer is read on the blocking pool: the runtime has one thread, and a remote
/// lock's renewal must go on while the person thinks.
pub async fn ask(yes: bool, question: &str) -> Result<bool, Error> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "no terminal to ask for confirmation, so nothing was changed\n  hint: pass --yes to apply without asking (as in CI)".into(),
        ));
    }
    eprint!("{question} Only 'yes' is accepted: ");
    let _ = std::io::stderr().flush();
    let line = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    })
    .await
    .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    .map_err(|e| Error::Usage(format!("cannot read the answer: {e}")))?;
    Ok(line.trim() == "yes")
}
