//! The daemon: the GitOps loop around [`Run`](crate::run::Run).
//!
//! - [`cycle`](mod@cycle): one run (`hrsync daemon --once`): plan, commit each plan to
//!   the reports branch, apply, commit the result, status and run state;
//! - [`watch`](mod@watch): when to run: at start, on each new commit of the tracked
//!   branch, on the schedule, on SIGHUP and on the HTTP triggers, until SIGTERM;
//! - [`page`]: the status page at `/`, HTML for people;
//! - [`endpoints`]: `/`, `/healthz`, `/readyz`, `/metrics`, `/status`, `POST /runs` and
//!   `POST /hooks/git`;
//! - [`notify`]: after each cycle, one message per change of state to the channels of
//!   `notify` (webhook, Slack, Teams, e-mail);
//! - [`host`]: the edge around them: the repository (local, or the mirror of a remote),
//!   the run lock, pushing the reports branch, the clock.

pub mod cycle;
pub mod endpoints;
pub mod host;
pub mod notify;
pub mod page;
pub mod watch;

pub use cycle::{Cycle, CycleError, cycle};
pub use host::Host;
pub use watch::{WatchError, watch};
