//! How the engine's events look: a live display on a terminal, plain lines in a log, or
//! one JSON object per line for machines. Nothing outside `cli/` prints.

mod json;
mod plain;
mod tty;

pub use json::line as json_line;

use crate::events::{Emitter, Event};
use std::io::IsTerminal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Steps in flight with spinners and elapsed time; finished steps scroll above.
    Live,
    /// One line per start, progress and end: CI logs, pipes.
    Plain,
    /// One JSON object per line; the last is a summary with `"ok"`.
    Json,
}

impl Mode {
    pub fn pick(json: bool) -> Mode {
        if json {
            Mode::Json
        } else if std::io::stdout().is_terminal() && std::env::var_os("CI").is_none() {
            Mode::Live
        } else {
            Mode::Plain
        }
    }
}

/// The emitter the engine reports to, drawing in `mode`.
pub fn emitter(mode: Mode) -> Emitter {
    match mode {
        Mode::Json => Emitter::new(json::draw),
        Mode::Plain => Emitter::new(plain::draw),
        Mode::Live => {
            let live = tty::Live::new();
            Emitter::new(move |e| live.draw(e))
        }
    }
}

/// The line a finished step leaves, in every human mode.
fn done_line(e: &Event) -> Option<String> {
    let Event::Done {
        id,
        action,
        physical_id,
        seconds,
    } = e
    else {
        return None;
    };
    let (symbol, past) = match action.as_str() {
        "delete" => ("-", "deleted"),
        "update" => ("~", "updated"),
        "replace" => ("-/+", "replaced"),
        _ => ("+", "created"),
    };
    Some(match physical_id {
        Some(pid) => format!("  {symbol} {past} {id} ({pid}) ({seconds:.1}s)"),
        None => format!("  {symbol} {past} {id} ({seconds:.1}s)"),
    })
}

/// What a step is doing, as a verb: "creating", "deleting".
fn doing(action: &str) -> (&'static str, &'static str) {
    match action {
        "delete" => ("-", "deleting"),
        "update" => ("~", "updating"),
        "replace" => ("-/+", "replacing"),
        _ => ("+", "creating"),
    }
}

fn interrupted_line(in_flight: usize) -> String {
    format!(
        "\nInterrupted: waiting for the {in_flight} steps in flight to finish and saving state (Ctrl-C again to abandon them)…"
    )
}
