//! Progress of the long steps of a run — reading a source, reading a directory,
//! applying a plan — for someone waiting on it: a bar on a terminal, INFO log lines
//! (`hrsync::run::progress`) everywhere else, where a bar would be noise in a log or
//! garble a stream of JSON lines.
//!
//! Lines come every [`EVERY`] while a read runs, and while applying every
//! [`LINE_EVERY_ITEMS`] items or every [`EVERY`], whichever comes first. Short work says
//! nothing: an apply of at most [`QUIET_WRITES`] items shows no bar, and work that ends
//! within [`EVERY`] (and, applying, before [`LINE_EVERY_ITEMS`] items) logs no line.

use std::future::Future;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use tracing::info;

/// How often a long step says it is still going.
pub const EVERY: Duration = Duration::from_secs(5);

/// An apply of this many items or fewer shows no bar.
pub const QUIET_WRITES: u64 = 20;

/// An apply logs a line every this many items (and every [`EVERY`]).
pub const LINE_EVERY_ITEMS: usize = 1000;

/// How a run shows the progress of its long steps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ShowProgress {
    /// Not at all (a second run beside one that shows it, tests).
    #[default]
    Off,
    /// A bar on a terminal, log lines when stderr is not one: the command line with
    /// logs for people.
    Auto,
    /// Log lines only: the daemon, and JSON logs.
    Log,
}

impl ShowProgress {
    /// Whether a bar is drawn (a terminal, for people) rather than lines logged.
    fn bar(self) -> bool {
        self == ShowProgress::Auto && std::io::stderr().is_terminal()
    }
}

/// A step that takes a while.
#[derive(Clone, Copy, Debug)]
pub(super) enum Step<'a> {
    /// Reading the source with this id, which has read this many records so far.
    Source(&'a str, &'a AtomicUsize),
    /// Reading the live entries of the directory with this id.
    Directory(&'a str),
}

/// Runs `work`, logging every [`EVERY`] that `step` is still going.
pub(super) async fn watch<F: Future>(show: ShowProgress, step: Step<'_>, work: F) -> F::Output {
    if let Step::Source(source, records) = step
        && show.bar()
    {
        // On a terminal: a spinner with the records read so far.
        let bar = ProgressBar::new_spinner().with_message(format!("reading source {source}"));
        let out = beating(show, Duration::from_millis(200), work, |_| {
            bar.set_message(format!("reading source {source}: {} records", records.load(Ordering::Relaxed)));
            bar.tick();
        })
        .await;
        bar.finish_and_clear();
        return out;
    }
    beating(show, EVERY, work, |elapsed| {
        let seconds = elapsed.as_secs();
        match step {
            Step::Source(source, records) => {
                let records = records.load(Ordering::Relaxed);
                info!(source, seconds, records, "still reading the source")
            }
            Step::Directory(directory) => info!(directory, seconds, "still reading the directory"),
        }
    })
    .await
}

/// Runs `work`, calling `beat` with the time elapsed every `every` until it is done.
async fn beating<F: Future>(
    show: ShowProgress,
    every: Duration,
    work: F,
    beat: impl Fn(Duration),
) -> F::Output {
    if show == ShowProgress::Off {
        return work.await;
    }
    #[allow(clippy::disallowed_methods)] // how long a step takes is never data of the run
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let start = ticks.period();
    let mut beats = 0u32;
    tokio::pin!(work);
    loop {
        tokio::select! {
            out = &mut work => return out,
            _ = ticks.tick() => {
                beats += 1;
                beat(start * beats);
            }
        }
    }
}

/// The monotonic clock, for progress only: how long a step has taken is never data of
/// the run, so reading it here leaves plans as they are.
#[allow(clippy::disallowed_methods)]
fn started() -> Instant {
    Instant::now()
}

/// The progress of an apply: a bar, log lines, or nothing.
pub struct Progress(Shown);

enum Shown {
    Nothing,
    Bar(ProgressBar),
    Lines(Lines),
}

struct Lines {
    directory: String,
    total: usize,
    /// A line every this many items…
    step: usize,
    /// … or when this much time passed since the last line.
    since: Instant,
    /// Milliseconds after `since` of the last line.
    last_ms: AtomicU64,
    /// The last count logged.
    logged: AtomicUsize,
}

impl Progress {
    /// The progress of `writes` items applied to `directory`, shown as `show` says.
    pub fn new(show: ShowProgress, writes: u64, directory: &str) -> Progress {
        if show == ShowProgress::Off {
            return Progress(Shown::Nothing);
        }
        if show.bar() {
            if writes <= QUIET_WRITES {
                return Progress(Shown::Nothing);
            }
            let style = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            let bar =
                ProgressBar::new(writes).with_style(style).with_message(format!("applying to {directory}"));
            return Progress(Shown::Bar(bar));
        }
        Progress(Shown::Lines(Lines {
            directory: directory.to_owned(),
            total: usize::try_from(writes).unwrap_or(usize::MAX),
            step: LINE_EVERY_ITEMS,
            since: started(),
            last_ms: AtomicU64::new(0),
            logged: AtomicUsize::new(0),
        }))
    }

    /// `done` items are finished.
    pub fn set(&self, done: usize) {
        match &self.0 {
            Shown::Nothing => {}
            Shown::Bar(bar) => bar.set_position(done as u64),
            Shown::Lines(lines) => lines.set(done, started()),
        }
    }

    /// Removes the bar.
    pub fn finish(self) {
        if let Shown::Bar(bar) = self.0 {
            bar.finish_and_clear();
        }
    }
}

impl Lines {
    /// Logs `done` when it reaches the next step, or when [`EVERY`] passed since the last
    /// line; items finish on several tasks at once, so one line each time at most.
    fn set(&self, done: usize, now: Instant) {
        if done >= self.total {
            return; // "plan applied" says the rest
        }
        let ms = u64::try_from(now.saturating_duration_since(self.since).as_millis()).unwrap_or(u64::MAX);
        let last = self.last_ms.load(Ordering::Relaxed);
        let stepped = done / self.step > self.logged.load(Ordering::Relaxed) / self.step;
        let late = ms.saturating_sub(last) >= EVERY.as_millis() as u64;
        if !(stepped || late)
            || self.last_ms.compare_exchange(last, ms, Ordering::Relaxed, Ordering::Relaxed).is_err()
        {
            return;
        }
        self.logged.fetch_max(done, Ordering::Relaxed);
        info!(directory = %self.directory, done, total = self.total, "applying");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_long_step_beats_every_period_and_a_short_one_not_at_all() {
        let beats = Mutex::new(Vec::new());
        let work = tokio::time::sleep(Duration::from_secs(12));
        beating(ShowProgress::Log, EVERY, work, |d| beats.lock().unwrap().push(d.as_secs())).await;
        assert_eq!(*beats.lock().unwrap(), [5, 10]);
        let beats = Mutex::new(Vec::new());
        beating(ShowProgress::Log, EVERY, tokio::time::sleep(Duration::from_secs(4)), |d| {
            beats.lock().unwrap().push(d.as_secs())
        })
        .await;
        assert!(beats.lock().unwrap().is_empty());
        let beats = Mutex::new(Vec::new());
        beating(ShowProgress::Off, EVERY, tokio::time::sleep(Duration::from_secs(12)), |d| {
            beats.lock().unwrap().push(d.as_secs())
        })
        .await;
        assert!(beats.lock().unwrap().is_empty(), "off is off");
    }

    #[test]
    fn an_apply_logs_every_step_or_when_a_while_passed() {
        let since = started();
        let lines = Lines {
            directory: "corp".into(),
            total: 100,
            step: 10,
            since,
            last_ms: AtomicU64::new(0),
            logged: AtomicUsize::new(0),
        };
        let logged = |lines: &Lines| lines.logged.load(Ordering::Relaxed);
        lines.set(5, since);
        assert_eq!(logged(&lines), 0, "not a tenth yet, no time passed");
        lines.set(10, since + Duration::from_millis(1));
        assert_eq!(logged(&lines), 10);
        lines.set(11, since + Duration::from_millis(2));
        assert_eq!(logged(&lines), 10);
        lines.set(12, since + Duration::from_secs(6));
        assert_eq!(logged(&lines), 12, "five seconds since the last line");
        lines.set(100, since + Duration::from_secs(60));
        assert_eq!(logged(&lines), 12, "the last item is said by `plan applied`");
    }
}
