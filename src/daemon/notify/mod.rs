//! Notifications (`notify` in `hrsync.yaml`): after each cycle, tell each channel what
//! changed state since it was last told — a plan blocked (with the approval to give), a
//! run or directory failed, a source unhealthy, items failing above a threshold, and
//! recoveries. One message per change of state, never one per run.
//!
//! - [`states`]: the states a run shows and the changes since a channel was told (pure);
//! - [`message`]: a change in words, per kind of channel (pure);
//! - [`send`]: delivering a message, with retries within a bounded time.
//!
//! What each channel was last told is kept in `<state-dir>/notify.json`, written
//! atomically after the run's commits, so a restart resends nothing; load → send → save
//! holds `<state-dir>/notify.lock`, so a `daemon --once` beside a watching daemon on the
//! same state directory neither sends twice nor loses what the other told (the one that
//! finds it busy tells nothing this time). A run that failed only because another run
//! held the state directory did nothing, and is not told. A message that
//! cannot be delivered is logged at WARN (the channel's name and kind, never its URL or
//! a secret) and its subject's state is not advanced, so the next run tries again; the
//! channel's other messages of this run wait for that run too. A notification never
//! changes the job result or the exit code.
//!
//! The file also keeps the last `notify` settings that loaded, so a run that fails before
//! its config is read (an invalid config, an unreachable repository) is still told.

pub mod message;
pub mod send;
pub mod states;

use std::collections::BTreeMap;
use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use self::message::{Context, Message};
use self::send::Sender;
use self::states::{Outcome, Told};
use crate::config::{Channel, Notify, Workspace};
use crate::model::error_chain;
use crate::report::JobResult;
use crate::state::{StateError, StateStore};

/// The file of the state directory that keeps what each channel was last told.
pub const FILE: &str = "notify.json";
/// The lock file of notifications in the state directory, held from load to save.
pub const LOCK: &str = "notify.lock";

/// What a cycle that read its config hands over: the workspace's name and its `notify`.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The workspace's name.
    pub workspace: String,
    /// Its notifications, if any.
    pub notify: Option<Notify>,
}

impl Settings {
    /// The settings of `workspace`.
    pub fn of(workspace: &Workspace) -> Self {
        Settings { workspace: workspace.name.clone(), notify: workspace.notify.clone() }
    }
}

/// `notify.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Record {
    /// Random hex, made on first use: part of every event id, so that ids of another
    /// state directory (a reset one, another deployment of the same workspace) differ.
    #[serde(default)]
    salt: String,
    /// The workspace's name, as last read.
    #[serde(default)]
    workspace: String,
    /// The `notify` settings last read, for a run that cannot read its config.
    #[serde(default)]
    settings: Option<Notify>,
    /// Per channel name.
    #[serde(default)]
    channels: BTreeMap<String, ChannelRecord>,
}

/// What one channel was told.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct ChannelRecord {
    /// Messages delivered so far (it makes each change's event id).
    #[serde(default)]
    delivered: u64,
    /// The last state told, by subject.
    #[serde(default)]
    told: Told,
}

/// After a cycle: tells the channels of `settings` (or, when the cycle did not get to
/// read its config, of the last settings that loaded) what `outcome` changed, and
/// records it in `state_dir`. Never fails: problems are logged.
pub async fn after_cycle(
    state_dir: Option<&Path>,
    settings: Option<Settings>,
    outcome: Result<&JobResult, &anyhow::Error>,
    revision: Option<&str>,
    at: Timestamp,
) {
    let Some(dir) = state_dir else { return };
    if let Err(e) = &outcome
        && busy(e)
    {
        tracing::info!("the state directory was busy: the run did nothing, nothing to notify");
        return;
    }
    let error = outcome.as_ref().err().map(|e| error_chain(e.as_ref()));
    let outcome = match (&outcome, &error) {
        (Ok(result), _) => Outcome::Finished(result),
        (Err(_), Some(error)) => Outcome::Failed(error),
        (Err(_), None) => return,
    };
    dispatch(&StateStore::new(dir), settings, outcome, revision, at).await;
}

/// Tells every channel its changes and saves what was told.
async fn dispatch(
    store: &StateStore,
    settings: Option<Settings>,
    outcome: Outcome<'_>,
    revision: Option<&str>,
    at: Timestamp,
) {
    let _lock = match store.lock_file(LOCK) {
        Ok(lock) => lock,
        Err(StateError::Busy(_)) => {
            tracing::info!(
                "another hrsync process is notifying from this state directory; not notifying this time"
            );
            return;
        }
        Err(e) => {
            tracing::warn!(error = %error_chain(&e), "cannot lock the notifications' state; the next run tries again");
            return;
        }
    };
    let mut record: Record = match store.load_document(FILE) {
        Ok(record) => record.unwrap_or_default(),
        Err(e) => {
            tracing::warn!(error = %error_chain(&e), "cannot read what the notification channels were told; starting afresh");
            Record::default()
        }
    };
    let before = record.clone();
    if let Some(s) = settings {
        record.workspace = s.workspace;
        record.settings = s.notify;
    }
    let Some(notify) = record.settings.clone() else {
        // No notifications (any more): keep the file as it was, if there is one.
        if before.settings.is_some() {
            save(store, &record);
        }
        return;
    };
    if record.salt.is_empty() {
        let mut bytes = [0u8; 16];
        if let Err(e) = getrandom::fill(&mut bytes) {
            tracing::warn!(error = %e, "cannot draw the notifications' salt; the next run tries again");
            return;
        }
        record.salt = hex::encode(bytes);
    }
    let observed = states::observe(outcome, notify.item_failures);
    let to_send = notify.channels.iter().any(|c| {
        let told = record.channels.get(&c.name).map(|r| &r.told);
        states::changes(told.unwrap_or(&Told::new()), &observed, &c.events).iter().any(|c| c.send)
    });
    // Most runs change nothing: no HTTP client for them.
    let sender = match to_send.then(Sender::new).transpose() {
        Ok(sender) => sender,
        Err(e) => {
            tracing::warn!(error = %error_chain(&e), "cannot send notifications; the next run tries again");
            return;
        }
    };
    let cx = Context { workspace: &record.workspace, revision, link: notify.link.as_deref(), at };
    let tell = notify.channels.iter().map(|channel| {
        let previous = record.channels.get(&channel.name).cloned().unwrap_or_default();
        tell_channel(sender.as_ref(), channel, previous, &observed, cx, &record.salt)
    });
    let told = futures::future::join_all(tell).await;
    // Only the channels configured now: a removed channel's record goes with it.
    record.channels = notify.channels.iter().map(|c| c.name.clone()).zip(told).collect();
    if record != before {
        save(store, &record);
    }
}

/// Tells one channel its changes, in subject order, stopping at the first message that
/// cannot be delivered (or at the first to send, without a `sender`); what it was told,
/// after.
async fn tell_channel(
    sender: Option<&Sender>,
    channel: &Channel,
    mut record: ChannelRecord,
    observed: &BTreeMap<states::Subject, states::State>,
    cx: Context<'_>,
    salt: &str,
) -> ChannelRecord {
    // A subject seen for the first time, and well: recorded as such.
    for (subject, state) in observed {
        if *state == states::State::Ok {
            record.told.entry(subject.key()).or_insert(states::State::Ok);
        }
    }
    for change in states::changes(&record.told, observed, &channel.events) {
        if change.send {
            let id = event_id(salt, cx.workspace, &channel.name, &change, record.delivered + 1);
            let message = Message { cx, change: &change, id: &id };
            let Some(sender) = sender else { break };
            if let Err(e) = sender.deliver(channel, &message).await {
                tracing::warn!(
                    channel = %channel.name,
                    kind = channel.kind.as_str(),
                    event = change.event.as_str(),
                    subject = %change.subject.key(),
                    error = %error_chain(&e),
                    "notification not delivered; the next run tries again"
                );
                break;
            }
            record.delivered += 1;
            tracing::info!(
                channel = %channel.name,
                kind = channel.kind.as_str(),
                event = change.event.as_str(),
                subject = %change.subject.key(),
                "notified"
            );
        }
        record.told.insert(change.subject.key(), change.state);
    }
    record
}

/// The id of a change told to a channel: the same on every try of that change, in this
/// run or a later one (a receiver can drop a repeat), another for any other change —
/// of another subject or state, after `n` messages, from another state directory
/// (`salt`), so a receiver never drops a real alert as a repeat.
fn event_id(salt: &str, workspace: &str, channel: &str, change: &states::Change, n: u64) -> String {
    let text = format!(
        "hrsync-notify\0{salt}\0{workspace}\0{channel}\0{}\0{}\0{}\0{n}",
        change.subject.key(),
        change.previous.identity(),
        change.state.identity(),
    );
    blake3::hash(text.as_bytes()).to_hex()[..32].to_owned()
}

/// Whether the run failed because another run held the state directory: it did nothing.
fn busy(error: &anyhow::Error) -> bool {
    error.chain().any(|e| matches!(e.downcast_ref::<StateError>(), Some(StateError::Busy(_))))
}

fn save(store: &StateStore, record: &Record) {
    if let Err(e) = store.save_document(FILE, record) {
        tracing::warn!(error = %error_chain(&e), "cannot record what the notification channels were told");
    }
}

#[cfg(test)]
mod tests {
    use super::states::{Change, State, Subject};
    use super::*;
    use crate::config::{ChannelKind, NotifyEvent, SecretRef};

    fn change(subject: Subject, previous: State, state: State) -> Change {
        let event = state.event().unwrap_or(NotifyEvent::Recovered);
        Change { subject, previous, state, event, send: true }
    }

    fn blocked(plan: &str, reason: &str) -> State {
        State::Blocked { plan: plan.to_owned(), reason: reason.to_owned() }
    }

    #[test]
    fn event_ids_are_unique_per_change_and_repeat_per_try() {
        let corp = || Subject::Directory("corp".to_owned());
        let c = change(corp(), State::Ok, blocked("a", "over the limits"));
        let id = event_id("s1", "acme", "webhook", &c, 1);
        assert_eq!(id.len(), 32);
        // The same change tried again (in a later run, its words changed): the same id.
        let again = change(corp(), State::Ok, blocked("a", "over the limit of 20 %"));
        assert_eq!(id, event_id("s1", "acme", "webhook", &again, 1));
        // Any other change, even with the same counter: another id.
        let other = [
            event_id("s2", "acme", "webhook", &c, 1), // a reset state directory, another deployment
            event_id("s1", "acme", "slack", &c, 1),
            event_id("s1", "acme", "webhook", &c, 2),
            event_id("s1", "acme", "webhook", &change(corp(), State::Ok, blocked("b", "")), 1),
            event_id("s1", "acme", "webhook", &change(corp(), blocked("z", ""), blocked("a", "")), 1),
            event_id(
                "s1",
                "acme",
                "webhook",
                &change(Subject::Directory("hq".into()), State::Ok, blocked("a", "")),
                1,
            ),
            event_id(
                "s1",
                "acme",
                "webhook",
                &change(corp(), State::Failed { reason: String::new() }, State::Ok),
                1,
            ),
        ];
        for o in other {
            assert_ne!(id, o);
        }
    }

    /// Settings with one Slack channel whose URL cannot be read: every message fails
    /// at once, before any connection.
    fn settings() -> Settings {
        let url = SecretRef::parse("${env:HRSYNC_TEST_NOTIFY_NEVER_SET}").unwrap();
        let channel = Channel {
            name: "slack".to_owned(),
            kind: ChannelKind::Slack { url },
            events: NotifyEvent::ALL.into_iter().collect(),
        };
        Settings {
            workspace: "acme".to_owned(),
            notify: Some(Notify { item_failures: 0, link: None, channels: vec![channel] }),
        }
    }

    fn record(dir: &Path) -> Option<Record> {
        StateStore::new(dir).load_document(FILE).unwrap()
    }

    #[tokio::test]
    async fn the_salt_is_made_on_first_use_and_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let failed = anyhow::anyhow!("cannot fetch the repository");
        after_cycle(Some(tmp.path()), Some(settings()), Err(&failed), None, Timestamp::UNIX_EPOCH).await;
        let first = record(tmp.path()).unwrap();
        assert_eq!(first.salt.len(), 32, "{first:?}");
        // Not delivered: what the channel was told did not advance.
        assert!(first.channels["slack"].told.is_empty(), "{first:?}");
        after_cycle(Some(tmp.path()), Some(settings()), Err(&failed), None, Timestamp::UNIX_EPOCH).await;
        assert_eq!(record(tmp.path()).unwrap().salt, first.salt);
        let other = tempfile::tempdir().unwrap();
        after_cycle(Some(other.path()), Some(settings()), Err(&failed), None, Timestamp::UNIX_EPOCH).await;
        assert_ne!(record(other.path()).unwrap().salt, first.salt);
    }

    #[tokio::test]
    async fn a_run_that_found_the_state_directory_busy_is_not_told() {
        let tmp = tempfile::tempdir().unwrap();
        let busy =
            anyhow::Error::new(StateError::Busy(tmp.path().to_owned())).context("cannot start the run");
        after_cycle(Some(tmp.path()), Some(settings()), Err(&busy), None, Timestamp::UNIX_EPOCH).await;
        assert_eq!(record(tmp.path()), None, "a busy run touches nothing");
        // Any other failure is told (tried, here) and recorded.
        let failed = anyhow::anyhow!("cannot fetch the repository");
        after_cycle(Some(tmp.path()), Some(settings()), Err(&failed), None, Timestamp::UNIX_EPOCH).await;
        assert!(record(tmp.path()).is_some());
    }

    #[tokio::test]
    async fn while_another_process_notifies_from_the_state_directory_this_one_does_not() {
        let tmp = tempfile::tempdir().unwrap();
        let store = StateStore::new(tmp.path());
        let held = store.lock_file(LOCK).unwrap();
        let failed = anyhow::anyhow!("cannot fetch the repository");
        after_cycle(Some(tmp.path()), Some(settings()), Err(&failed), None, Timestamp::UNIX_EPOCH).await;
        assert_eq!(record(tmp.path()), None, "nothing loaded, sent or saved while the lock is held");
        drop(held);
        after_cycle(Some(tmp.path()), Some(settings()), Err(&failed), None, Timestamp::UNIX_EPOCH).await;
        assert!(record(tmp.path()).is_some());
    }
}
