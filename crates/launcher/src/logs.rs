use std::io::{IsTerminal, Write};

const COLORS: [&str; 6] = ["36", "33", "32", "35", "34", "91"];

/// Prints lines from several processes into one terminal: `shipping-2 | <line>`.
#[derive(Debug, Clone)]
pub(crate) struct LogMux {
    color: bool,
    width: usize,
}

impl LogMux {
    pub(crate) fn new(width: usize) -> Self {
        LogMux {
            color: std::io::stdout().is_terminal(),
            width,
        }
    }

    /// Whether the children should colour their own lines.
    pub(crate) fn color(&self) -> bool {
        self.color
    }

    pub(crate) fn line(&self, name: &str, index: usize, line: &str) {
        let mut out = std::io::stdout().lock();
        let _ = if self.color {
            let color = COLORS[index % COLORS.len()];
            writeln!(
                out,
                "\x1b[{color}m{name:<width$} |\x1b[0m {line}",
                width = self.width
            )
        } else {
            writeln!(out, "{name:<width$} | {line}", width = self.width)
        };
    }

    /// A line from `up` itself.
    pub(crate) fn say(&self, line: &str) {
        self.line("up", usize::MAX % COLORS.len(), line);
    }
}
