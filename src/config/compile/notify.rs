//! `notify` of `hrsync.yaml` → [`Notify`]: each channel of one kind, uniquely named,
//! with a URL or an SMTP server and addresses that can be used.
//!
//! Only the shape is checked here: secrets stay references (resolved when a message is
//! sent), and no server is reached.

use std::collections::BTreeSet;

use super::Compiler;
use crate::config::spec::{ChannelSpec, EmailSpec, NotifySpec};
use crate::config::yaml::Document;
use crate::config::{Channel, ChannelKind, EmailChannel, Notify, NotifyEvent, SmtpTls, is_loopback};

impl Compiler {
    pub(super) fn notify(&mut self, doc: &Document, spec: &NotifySpec) -> Option<Notify> {
        let mut channels = Vec::new();
        let mut names = BTreeSet::new();
        if let Some(link) = &spec.link
            && !web_url(link)
        {
            self.error(
                doc,
                "/notify/link",
                format!("`{link}` is not an http(s) URL"),
                Some("write the address people open, for example `https://git.acme.example/idm/sync`".into()),
            );
        }
        if spec.channels.is_empty() {
            self.error(
                doc,
                "/notify/channels",
                "`notify` without channels tells no one",
                Some("add a `webhook`, `slack`, `teams` or `email` channel, or remove `notify`".into()),
            );
        }
        for (i, c) in spec.channels.iter().enumerate() {
            let at = format!("/notify/channels/{i}");
            let Some(kind) = self.channel_kind(doc, &at, c) else { continue };
            let name = c.name.clone().unwrap_or_else(|| kind.as_str().to_owned());
            let valid_name =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !valid_name {
                self.error(
                    doc,
                    &format!("{at}/name"),
                    format!("`{name}` is not a channel name"),
                    Some("use letters, digits, `-` and `_`".into()),
                );
                continue;
            }
            if !names.insert(name.clone()) {
                self.error(
                    doc,
                    &at,
                    format!("two channels are named `{name}`"),
                    Some("give each channel of the same kind its own `name`: it keys what the channel was last told".into()),
                );
                continue;
            }
            let events = match &c.events {
                Some(events) if events.is_empty() => {
                    self.error(
                        doc,
                        &format!("{at}/events"),
                        "a channel with no events is told nothing",
                        Some("list the events it gets, or leave `events` out for all of them".into()),
                    );
                    continue;
                }
                Some(events) => events.iter().copied().collect(),
                None => NotifyEvent::ALL.into_iter().collect(),
            };
            channels.push(Channel { name, kind, events });
        }
        Some(Notify { item_failures: spec.item_failures, link: spec.link.clone(), channels })
    }

    fn channel_kind(&mut self, doc: &Document, at: &str, c: &ChannelSpec) -> Option<ChannelKind> {
        let given = [c.webhook.is_some(), c.slack.is_some(), c.teams.is_some(), c.email.is_some()];
        if given.iter().filter(|g| **g).count() != 1 {
            self.error(
                doc,
                at,
                "a channel is exactly one of `webhook`, `slack`, `teams` or `email`",
                Some("write one channel per list item".into()),
            );
            return None;
        }
        if let Some(w) = &c.webhook {
            if !web_url(&w.url) {
                self.error(
                    doc,
                    &format!("{at}/webhook/url"),
                    format!("`{}` is not an http(s) URL", w.url),
                    Some("write for example `https://hooks.acme.example/hrsync`".into()),
                );
                return None;
            }
            let url = reqwest::Url::parse(&w.url).ok()?;
            if url.scheme() != "https" && !url.host_str().is_some_and(is_loopback) {
                self.error(
                    doc,
                    &format!("{at}/webhook/url"),
                    "a webhook gets its messages over HTTPS",
                    Some(
                        "use `https://`; plain `http://` is only for a receiver on a loopback address".into(),
                    ),
                );
                return None;
            }
            return Some(ChannelKind::Webhook { url: w.url.clone(), secret: w.secret.clone() });
        }
        if let Some(s) = &c.slack {
            return Some(ChannelKind::Slack { url: s.url.clone() });
        }
        if let Some(t) = &c.teams {
            return Some(ChannelKind::Teams { url: t.url.clone() });
        }
        c.email.as_ref().and_then(|e| self.email(doc, &format!("{at}/email"), e)).map(ChannelKind::Email)
    }

    fn email(&mut self, doc: &Document, at: &str, e: &EmailSpec) -> Option<EmailChannel> {
        let mut ok = true;
        let smtp = &e.smtp;
        if smtp.host.trim().is_empty() {
            self.error(doc, &format!("{at}/smtp/host"), "the SMTP server has no host name", None);
            ok = false;
        }
        if smtp.tls == SmtpTls::None && !is_loopback(&smtp.host) {
            self.error(
                doc,
                &format!("{at}/smtp/tls"),
                format!("`tls: none` would send mail to `{}` in the clear", smtp.host),
                Some(
                    "use `starttls` (the default) or `tls`; `none` is only for a relay on a loopback address"
                        .into(),
                ),
            );
            ok = false;
        }
        let login = match (&smtp.username, &smtp.password) {
            (Some(user), Some(password)) => Some((user.clone(), password.clone())),
            (None, None) => None,
            (Some(_), None) | (None, Some(_)) => {
                self.error(
                    doc,
                    &format!("{at}/smtp"),
                    "`username` and `password` go together",
                    Some("give both to log in, or neither".into()),
                );
                ok = false;
                None
            }
        };
        if smtp.ca_file.as_ref().is_some_and(|f| !f.starts_with('/')) {
            self.error(
                doc,
                &format!("{at}/smtp/ca_file"),
                "`ca_file` is a path on the daemon's machine",
                Some("write an absolute path, for example `/etc/ssl/acme-ca.pem`".into()),
            );
            ok = false;
        }
        let address = |a: &str| a.parse::<lettre::message::Mailbox>().is_ok();
        if !address(&e.from) {
            self.error(
                doc,
                &format!("{at}/from"),
                format!("`{}` is not an e-mail address", e.from),
                Some("write for example `hrsync@acme.example`".into()),
            );
            ok = false;
        }
        if e.to.is_empty() {
            self.error(doc, &format!("{at}/to"), "an e-mail channel needs a recipient", None);
            ok = false;
        }
        for (i, to) in e.to.iter().enumerate() {
            if !address(to) {
                self.error(doc, &format!("{at}/to/{i}"), format!("`{to}` is not an e-mail address"), None);
                ok = false;
            }
        }
        let port = smtp.port.unwrap_or(match smtp.tls {
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
            SmtpTls::None => 25,
        });
        ok.then(|| EmailChannel {
            host: smtp.host.clone(),
            port,
            tls: smtp.tls,
            ca_file: smtp.ca_file.as_ref().map(Into::into),
            login,
            from: e.from.clone(),
            to: e.to.clone(),
        })
    }
}

/// Whether `url` is an `http://` or `https://` URL with a host.
fn web_url(url: &str) -> bool {
    reqwest::Url::parse(url)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty()))
}

#[cfg(test)]
mod tests {
    use crate::config::files::MemFiles;
    use crate::config::{ChannelKind, ConfigError, NotifyEvent, SmtpTls, load};

    fn with_notify(notify: &str) -> MemFiles {
        MemFiles::default().with("hrsync.yaml", &format!("version: 1\nworkspace: t\nnotify:\n{notify}"))
    }

    fn problems(notify: &str) -> Vec<(usize, String)> {
        match load(&with_notify(notify)) {
            Err(ConfigError::Invalid(d)) => d.iter().map(|d| (d.line, d.message.clone())).collect(),
            Ok(_) => Vec::new(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn channels_compile_with_their_defaults() {
        let config = load(&with_notify(concat!(
            "  item_failures: 10\n",
            "  channels:\n",
            "    - webhook: { url: \"https://hooks.acme.example/hrsync\", secret: \"${env:S}\" }\n",
            "    - slack: { url: \"${env:SLACK}\" }\n",
            "      events: [blocked, recovered]\n",
            "    - email:\n",
            "        smtp: { host: smtp.acme.example, username: hrsync, password: \"${file:/run/p}\" }\n",
            "        from: hrsync@acme.example\n",
            "        to: [idm-oncall@acme.example]\n",
            "    - { name: mail2, email: { smtp: { host: smtp.acme.example, tls: tls }, from: a@acme.example, to: [b@acme.example] } }\n",
        )))
        .unwrap();
        let notify = config.workspace.notify.unwrap();
        assert_eq!(notify.item_failures, 10);
        let names: Vec<&str> = notify.channels.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["webhook", "slack", "email", "mail2"]);
        assert_eq!(notify.channels[0].events.len(), 5, "all events by default");
        assert_eq!(
            notify.channels[1].events.iter().copied().collect::<Vec<_>>(),
            [NotifyEvent::Blocked, NotifyEvent::Recovered]
        );
        let ChannelKind::Email(mail) = &notify.channels[2].kind else { panic!() };
        assert_eq!((mail.port, mail.tls), (587, SmtpTls::Starttls));
        assert_eq!(mail.login.as_ref().map(|(u, _)| u.as_str()), Some("hrsync"));
        let ChannelKind::Email(mail) = &notify.channels[3].kind else { panic!() };
        assert_eq!(mail.port, 465);
    }

    #[test]
    fn bad_channels_are_refused_with_their_line_and_a_hint() {
        let cases = [
            (
                "  channels:\n    - slack: { url: \"https://hooks.slack.com/services/T/B/X\" }\n",
                5,
                "a secret must be a reference",
            ),
            (
                "  channels:\n    - webhook: { url: \"http://hooks.acme.example/x\", secret: \"${env:S}\" }\n",
                5,
                "over HTTPS",
            ),
            (
                "  channels:\n    - webhook: { url: \"ftp://x\", secret: \"${env:S}\" }\n",
                5,
                "not an http(s) URL",
            ),
            ("  channels:\n    - {}\n", 5, "exactly one of"),
            (
                "  channels:\n    - slack: { url: \"${env:A}\" }\n    - slack: { url: \"${env:B}\" }\n",
                6,
                "two channels are named `slack`",
            ),
            (
                "  channels:\n    - email: { smtp: { host: smtp.acme.example, tls: none }, from: a@acme.example, to: [b@acme.example] }\n",
                5,
                "in the clear",
            ),
            (
                "  channels:\n    - email: { smtp: { host: h, username: u }, from: a@acme.example, to: [b@acme.example] }\n",
                5,
                "go together",
            ),
            (
                "  channels:\n    - email: { smtp: { host: h }, from: not an address, to: [] }\n",
                5,
                "not an e-mail address",
            ),
            ("  channels:\n    - teams: { url: \"${env:T}\" }\n      events: []\n", 6, "told nothing"),
            ("  channels: []\n", 4, "tells no one"),
        ];
        for (yaml, line, message) in cases {
            let p = problems(yaml);
            assert!(
                p.iter().any(|(l, m)| *l == line && m.contains(message)),
                "{yaml}: expected line {line} `{message}`, got {p:?}"
            );
        }
        // A loopback relay may go without TLS, and a loopback receiver over plain HTTP.
        assert!(problems(concat!(
            "  channels:\n",
            "    - email: { smtp: { host: 127.0.0.1, port: 2525, tls: none }, from: a@acme.example, to: [b@acme.example] }\n",
            "    - webhook: { url: \"http://127.0.0.1:8080/hook\", secret: \"${env:S}\" }\n",
        ))
        .is_empty());
    }
}
