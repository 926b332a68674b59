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
//! atomically after the run's commits, so a restart resends nothing. A message that
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
use crate::state::StateStore;

/// The file of the state directory that keeps what each channel was last told.
pub const FILE: &str = "notify.json";

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
        tell_channel(sender.as_ref(), channel, previous, &observed, cx)
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
) -> ChannelRecord {
    // A subject seen for the first time, and well: recorded as such.
    for (subject, state) in observed {
        if *state == states::State::Ok {
            record.told.entry(subject.key()).or_insert(states::State::Ok);
        }
    }
    for change in states::changes(&record.told, observed, &channel.events) {
        if change.send {
            let id = event_id(cx.workspace, &channel.name, record.delivered + 1);
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

/// The id of a channel's `n`-th message: the same on every try of one change (a
/// receiver can drop a repeat), another for the next change.
fn event_id(workspace: &str, channel: &str, n: u64) -> String {
    let hash = blake3::hash(format!("hrsync-notify\0{workspace}\0{channel}\0{n}").as_bytes());
    hash.to_hex()[..32].to_owned()
}

fn save(store: &StateStore, record: &Record) {
    if let Err(e) = store.save_document(FILE, record) {
        tracing::warn!(error = %error_chain(&e), "cannot record what the notification channels were told");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_differ_per_message_and_repeat_per_try() {
        assert_eq!(event_id("acme", "webhook", 1), event_id("acme", "webhook", 1));
        assert_ne!(event_id("acme", "webhook", 1), event_id("acme", "webhook", 2));
        assert_ne!(event_id("acme", "webhook", 1), event_id("acme", "slack", 1));
        assert_eq!(event_id("acme", "webhook", 1).len(), 32);
    }
}
