//! The progress bar of an apply, shown on a terminal only, for plans that write more
//! than a handful of items.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar on stderr, or nothing when it would only be noise.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// A bar for `writes` items applied to `directory`, if `wanted` and stderr is a
    /// terminal and there are more than 20.
    pub fn new(wanted: bool, writes: u64, directory: &str) -> Progress {
        let bar = (wanted && writes > 20 && std::io::stderr().is_terminal()).then(|| {
            let style = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            ProgressBar::new(writes).with_style(style).with_message(format!("applying to {directory}"))
        });
        Progress(bar)
    }

    /// `done` items are finished.
    pub fn set(&self, done: usize) {
        if let Some(bar) = &self.0 {
            bar.set_position(done as u64);
        }
    }

    /// Removes the bar.
    pub fn finish(self) {
        if let Some(bar) = self.0 {
            bar.finish_and_clear();
        }
    }
}
