//! The progress bar of imports and exports, on stderr; indicatif hides it
//! when stderr is not a terminal, and the command ends with a plain summary.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar over `len` rows, or a counter when the length is unknown.
pub fn bar(len: Option<u64>, what: &str) -> ProgressBar {
    let (bar, template) = match len {
        Some(len) => (
            ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr()),
            "{msg} [{bar:30}] {pos}/{len} rows, {per_sec}, {eta} left",
        ),
        None => {
            (ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()), "{spinner} {msg} {pos} rows, {per_sec}")
        }
    };
    let style = ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    bar.set_message(what.to_owned());
    bar
}
