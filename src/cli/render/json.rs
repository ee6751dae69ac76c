//! One JSON object per line on stdout, as the README's schema says.

use crate::events::Event;
use std::io::Write;

pub fn draw(e: Event) {
    line(&e);
}

/// Writes any serializable value as one line, whole even when tasks print at once.
pub fn line<T: serde::Serialize>(v: &T) {
    if let Ok(text) = serde_json::to_string(v) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }
}
