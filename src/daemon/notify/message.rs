//! A change of state in words, as each kind of channel takes it: a signed JSON body, a
//! Slack `text`, a Teams Adaptive Card, an e-mail's subject and plain-text body. Pure:
//! the time comes in, nothing is sent from here.
//!
//! Messages hold no personal data: ids, counts, plan ids, and reasons from the job
//! result, which are masked there already per `reports.pii`. hrsync's own words are
//! ASCII, so an e-mail body usually goes as 7-bit text.

use jiff::Timestamp;
use serde_json::{Value as Json, json};

use super::states::{Change, State, Subject};

/// The longest reason put in a message (a failure's error chain can be long; an
/// e-mail line stays well within SMTP's 998 characters, so a plain ASCII body goes as is).
const MAX_REASON: usize = 500;

/// What every message of one run shares.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// The workspace's name.
    pub workspace: &'a str,
    /// The config revision the run read, when it got that far.
    pub revision: Option<&'a str>,
    /// `notify.link`.
    pub link: Option<&'a str>,
    /// When the run started.
    pub at: Timestamp,
}

/// One change, to be told to one channel.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    /// The run's context.
    pub cx: Context<'a>,
    /// The change.
    pub change: &'a Change,
    /// Its id, the same each time this change is tried on this channel.
    pub id: &'a str,
}

impl Message<'_> {
    /// The headline: `corp: plan blocked`, `germany: source unhealthy`, `run failed`.
    pub fn headline(&self) -> String {
        let c = self.change;
        let id = c.subject.id();
        match (&c.subject, &c.state) {
            (Subject::Run, State::Ok) => "run recovered".to_owned(),
            (Subject::Run, _) => "run failed".to_owned(),
            (Subject::Source(_), State::Ok) => format!("{id}: source recovered"),
            (Subject::Source(_), _) => format!("{id}: source unhealthy"),
            (Subject::Directory(_), State::Ok) => format!("{id}: recovered"),
            (Subject::Directory(_), State::Blocked { .. }) => format!("{id}: plan blocked"),
            (Subject::Directory(_), State::ItemFailures { failed }) => format!("{id}: {failed} items failed"),
            (Subject::Directory(_), _) => format!("{id}: directory failed"),
        }
    }

    /// The e-mail subject: `[hrsync acme] corp: plan blocked`.
    pub fn subject_line(&self) -> String {
        format!("[hrsync {}] {}", self.cx.workspace, self.headline())
    }

    /// The plan waiting for an approval, when blocked.
    pub fn plan(&self) -> Option<&str> {
        match &self.change.state {
            State::Blocked { plan, .. } => Some(plan),
            _ => None,
        }
    }

    /// The approval to give, when blocked (the guard's words).
    pub fn approval(&self) -> Option<String> {
        self.plan().map(|id| {
            format!(
                "approve this exact plan with `hrsync apply --approve {id}` or add it to `approvals` in hrsync.yaml"
            )
        })
    }

    /// Why, when the state says.
    pub fn reason(&self) -> Option<String> {
        let reason = match &self.change.state {
            State::Failed { reason } | State::Unhealthy { reason } | State::Blocked { reason, .. } => reason,
            State::Ok | State::ItemFailures { .. } => return None,
        };
        Some(shorten(reason, MAX_REASON))
    }

    /// The message as lines of plain text, the headline first.
    pub fn lines(&self) -> Vec<String> {
        let c = self.change;
        let what = match &c.subject {
            Subject::Run => format!("The run of workspace `{}`", self.cx.workspace),
            Subject::Source(id) => format!("Source `{id}`"),
            Subject::Directory(id) => format!("Directory `{id}`"),
        };
        let mut lines =
            vec![self.headline(), format!("{what}: {} -> {}.", describe(&c.previous), describe(&c.state))];
        if let Some(reason) = self.reason() {
            lines.push(format!("Why: {reason}"));
        }
        if let (Some(plan), Some(approval)) = (self.plan(), self.approval()) {
            lines.push(format!("Plan {plan} waits for an approval: {approval}."));
        }
        let revision = self.cx.revision.map(|r| format!(", config revision {r}")).unwrap_or_default();
        lines.push(format!("Workspace {}{revision}, run of {}.", self.cx.workspace, self.cx.at));
        if let Some(link) = self.cx.link {
            lines.push(link.to_owned());
        }
        lines
    }

    /// The generic webhook's JSON body.
    pub fn webhook(&self) -> Json {
        let c = self.change;
        let failed_items = match c.state {
            State::ItemFailures { failed } => Some(failed),
            _ => None,
        };
        json!({
            "id": self.id,
            "event": c.event.as_str(),
            "workspace": self.cx.workspace,
            "subject": { "kind": c.subject.kind(), "id": c.subject.id() },
            "state": c.state.name(),
            "previous": c.previous.name(),
            "revision": self.cx.revision,
            "plan_id": self.plan(),
            "approval": self.approval(),
            "reason": self.reason(),
            "failed_items": failed_items,
            "message": self.headline(),
            "text": self.lines().join("\n"),
            "link": self.cx.link,
            "at": self.cx.at.to_string(),
        })
    }

    /// A Slack incoming webhook's body: `text` in Slack's mrkdwn, with `&`, `<` and `>`
    /// escaped as Slack asks (<https://api.slack.com/reference/surfaces/formatting#escaping>;
    /// the payload: <https://api.slack.com/messaging/webhooks>).
    pub fn slack(&self) -> Json {
        let mut lines = self.lines();
        let link = self.cx.link.map(|l| format!("<{}|open>", slack_escape(l)));
        if link.is_some() {
            lines.pop();
        }
        let mut text = format!("*[hrsync {}] {}*", slack_escape(self.cx.workspace), slack_escape(&lines[0]));
        for line in &lines[1..] {
            text.push('\n');
            text.push_str(&slack_escape(line));
        }
        if let Some(link) = link {
            text.push('\n');
            text.push_str(&link);
        }
        json!({ "text": text })
    }

    /// A Microsoft Teams workflow webhook's body: a message with one Adaptive Card
    /// attachment, the only format Workflows take
    /// (<https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using>;
    /// the card: <https://adaptivecards.io/explorer/AdaptiveCard.html>).
    pub fn teams(&self) -> Json {
        let c = self.change;
        let lines = self.lines();
        let mut body = vec![json!({
            "type": "TextBlock", "size": "Medium", "weight": "Bolder", "wrap": true,
            "text": format!("[hrsync {}] {}", self.cx.workspace, lines[0]),
        })];
        let text_lines = if self.cx.link.is_some() { &lines[1..lines.len() - 1] } else { &lines[1..] };
        for line in text_lines {
            body.push(json!({ "type": "TextBlock", "wrap": true, "text": line }));
        }
        let mut facts = vec![
            json!({ "title": "Workspace", "value": self.cx.workspace }),
            json!({ "title": c.subject.kind(), "value": c.subject.id() }),
            json!({ "title": "State", "value": format!("{} -> {}", c.previous.name(), c.state.name()) }),
        ];
        if let Some(revision) = self.cx.revision {
            facts.push(json!({ "title": "Revision", "value": revision }));
        }
        body.push(json!({ "type": "FactSet", "facts": facts }));
        let mut card = json!({
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": body,
        });
        if let Some(link) = self.cx.link {
            card["actions"] = json!([{ "type": "Action.OpenUrl", "title": "Open", "url": link }]);
        }
        json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": card,
            }],
        })
    }

    /// The e-mail's plain-text body.
    pub fn email_body(&self) -> String {
        let mut text = self.lines().join("\n");
        text.push('\n');
        text
    }
}

/// A state in words, for the `previous → state` line.
fn describe(state: &State) -> String {
    match state {
        State::ItemFailures { failed } => format!("{failed} items failed"),
        State::Blocked { plan, .. } => format!("blocked (plan {plan})"),
        other => other.name().to_owned(),
    }
}

/// Slack's three control characters as the entities Slack asks for.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// `text` cut to at most `max` characters, with `...` when cut.
fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NotifyEvent;

    fn blocked_change() -> Change {
        Change {
            subject: Subject::Directory("corp".into()),
            previous: State::Ok,
            state: State::Blocked {
                plan: "0123abcd".into(),
                reason: "30 disables > 20 % <of> 143 & more".into(),
            },
            event: NotifyEvent::Blocked,
            send: true,
        }
    }

    fn message<'a>(change: &'a Change, link: Option<&'a str>) -> Message<'a> {
        Message {
            cx: Context {
                workspace: "acme",
                revision: Some("feedc0de"),
                link,
                at: "2026-11-22T10:00:00Z".parse().unwrap(),
            },
            change,
            id: "e1",
        }
    }

    #[test]
    fn a_blocked_plan_says_which_plan_and_the_approval_to_give_on_every_channel() {
        let change = blocked_change();
        let m = message(&change, Some("https://git.acme.example/idm/sync"));
        assert_eq!(m.subject_line(), "[hrsync acme] corp: plan blocked");
        let approval = "approve this exact plan with `hrsync apply --approve 0123abcd` or add it to `approvals` in hrsync.yaml";
        let hook = m.webhook();
        assert_eq!(
            (&hook["event"], &hook["state"], &hook["previous"], &hook["plan_id"], &hook["approval"]),
            (&json!("blocked"), &json!("blocked"), &json!("ok"), &json!("0123abcd"), &json!(approval))
        );
        assert_eq!(hook["subject"], json!({ "kind": "directory", "id": "corp" }));
        assert_eq!((&hook["revision"], &hook["id"]), (&json!("feedc0de"), &json!("e1")));
        assert!(m.email_body().contains(approval), "{}", m.email_body());
        assert!(
            m.email_body().contains("Directory `corp`: ok -> blocked (plan 0123abcd)."),
            "{}",
            m.email_body()
        );
        let slack = m.slack()["text"].as_str().unwrap().to_owned();
        assert!(slack.starts_with("*[hrsync acme] corp: plan blocked*\n"), "{slack}");
        assert!(slack.contains("20 % &lt;of&gt; 143 &amp; more"), "escaped: {slack}");
        assert!(slack.ends_with("\n<https://git.acme.example/idm/sync|open>"), "{slack}");
        let teams = m.teams();
        assert_eq!(teams["type"], "message");
        let attachment = &teams["attachments"][0];
        assert_eq!(attachment["contentType"], "application/vnd.microsoft.card.adaptive");
        let card = &attachment["content"];
        assert_eq!((&card["type"], &card["version"]), (&json!("AdaptiveCard"), &json!("1.4")));
        assert!(card["body"].to_string().contains(approval), "{card:#}");
        assert_eq!(card["actions"][0]["url"], "https://git.acme.example/idm/sync");
    }

    #[test]
    fn recoveries_and_failures_read_plainly_and_long_reasons_are_cut() {
        let recovered = Change {
            subject: Subject::Directory("corp".into()),
            previous: State::ItemFailures { failed: 12 },
            state: State::Ok,
            event: NotifyEvent::Recovered,
            send: true,
        };
        let m = message(&recovered, None);
        assert_eq!(m.headline(), "corp: recovered");
        assert_eq!(m.lines()[1], "Directory `corp`: 12 items failed -> ok.");
        assert_eq!(m.webhook()["approval"], Json::Null);
        let failed = Change {
            subject: Subject::Run,
            previous: State::Ok,
            state: State::Failed { reason: "x".repeat(5000) },
            event: NotifyEvent::RunFailed,
            send: true,
        };
        let m = message(&failed, None);
        assert_eq!(m.subject_line(), "[hrsync acme] run failed");
        assert_eq!(m.reason().unwrap().len(), MAX_REASON + 3);
    }
}
