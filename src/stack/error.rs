//! Problems in a stack file, each with where it is and what to write instead.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based; 0 when the location is not known.
    pub line: u64,
    pub col: u64,
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    pub fn at(loc: &serde_saphyr::Location, message: impl Into<String>) -> Self {
        Problem {
            line: loc.line(),
            col: loc.column(),
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(
        "cannot read the stack file {path}: {source}\n  hint: pass the file with -f/--file, or run from the folder that holds stack.yaml"
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", render(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn render(path: &std::path::Path, problems: &[Problem]) -> String {
    let mut out = String::new();
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&p.to_string_in(path));
    }
    let n = problems.len();
    if n > 1 {
        out.push_str(&format!("\n{n} problems in {}", path.display()));
    }
    out
}

impl Problem {
    pub fn to_string_in(&self, path: &std::path::Path) -> String {
        let mut s = if self.line > 0 {
            format!(
                "{}:{}:{}: {}",
                path.display(),
                self.line,
                self.col,
                self.message
            )
        } else {
            format!("{}: {}", path.display(), self.message)
        };
        if let Some(h) = &self.hint {
            s.push_str("\n  hint: ");
            s.push_str(h);
        }
        s
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.message)
    }
}
