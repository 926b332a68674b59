//! The verdicts: what a directory's plan row means for the person (or for an entry no
//! person matches), in one line, with the plan's state (ready, blocked, mode plan).

use super::*;

/// What happens to `entry`, which no person matches.
pub(super) fn entry_answer(
    facts: &Facts<'_>,
    d: &DirectoryFacts<'_>,
    plan: &Plan,
    row: &Row,
    entry: &Entry,
) -> EntryAnswer {
    let id = &d.config.id;
    let pii = facts.pii;
    let shown = pii.entry(&entry.id);
    let reasons: Vec<String> = row.reasons.iter().map(|r| r.to_string()).collect();
    let last_reason = reasons.last().cloned().unwrap_or_default();
    let gone = reasons.iter().find(|r| r.starts_with("left")).cloned().unwrap_or_else(|| last_reason.clone());
    let when = when_applied(plan, d.config);
    let (verdict, answer) = match (row.action, &row.due) {
        (Action::Noop, Some(due)) => (
            Verdict::LeaverWaiting,
            format!(
                "their entry {shown} in `{id}` stays as it is until {}, when it is {} ({}).",
                due.on,
                past(due.action),
                due.why
            ),
        ),
        (Action::Disable, due) => {
            let then = due.as_ref().map(|d| format!("; deleted on {} ({})", d.on, d.why)).unwrap_or_default();
            (Verdict::Disable, format!("their entry {shown} in `{id}` will be disabled{when}: {gone}{then}."))
        }
        (Action::Delete, _) => {
            (Verdict::Delete, format!("their entry {shown} in `{id}` will be deleted{when}: {gone}."))
        }
        (Action::Skip, _) => {
            (Verdict::Skipped, format!("their entry {shown} in `{id}` is left as it is: {last_reason}."))
        }
        (Action::Noop, None) if reasons.iter().any(|r| r.contains("not managed by hrsync")) => {
            (Verdict::NotManaged, format!("the entry {shown} in `{id}` is left alone: {last_reason}."))
        }
        _ => (Verdict::LeaverDone, format!("their entry {shown} in `{id}`: {last_reason}.")),
    };
    let mut facts_out = reasons;
    if let Some(due) = &row.due {
        facts_out.push(format!("on {}: {} ({})", due.on, due.action.as_str(), due.why));
    }
    let mut steps = vec![
        Step {
            check: Check::Match,
            directory: Some(id.clone()),
            verdict: Mark::Stop,
            text: format!("no person of the sources matches the entry {shown}"),
            facts: Vec::new(),
        },
        Step {
            check: Check::Plan,
            directory: Some(id.clone()),
            verdict: if row.action.writes() || row.due.is_some() { Mark::Stop } else { Mark::Ok },
            text: format!("{}: {}", row.action.as_str(), plan_state(plan, d.config)),
            facts: facts_out,
        },
    ];
    if let Some(last) = facts.last.directories.get(id)
        && let Some(item) =
            last.items.iter().find(|i| i.person.is_none() && i.entry.as_deref() == Some(&entry.id))
        && let crate::apply::ItemStatus::Failed(why) | crate::apply::ItemStatus::NotAttempted(why) =
            &item.status
    {
        steps.push(Step {
            check: Check::LastApply,
            directory: Some(id.clone()),
            verdict: Mark::Stop,
            text: format!(
                "its {} failed in the apply of {}: {}",
                item.action.as_str(),
                last.at,
                pii.message(why, Some(&entry.id))
            ),
            facts: Vec::new(),
        });
    }
    EntryAnswer { directory: id.clone(), entry: shown, answer, verdict, steps }
}

/// Whether a plan's writes happen in the next apply, in words (" by the next apply").
pub(super) fn when_applied(plan: &Plan, d: &DirectoryConfig) -> String {
    match (plan.status, d.mode) {
        (PlanStatus::Blocked, _) => format!(
            " once the plan is approved: it is blocked by the safety limits ({})",
            plan.blocked_by.join("; ")
        ),
        (_, Mode::Apply) => " by the next apply".to_owned(),
        (_, mode) => format!(" once `{}` is in mode apply (it is in mode {})", d.id, mode.as_str()),
    }
}

/// One directory's checks, with its verdict and answer.
pub(super) fn directory_steps(
    facts: &Facts<'_>,
    d: &DirectoryFacts<'_>,
    p: &MergedPerson,
) -> (Verdict, String, Vec<Step>) {
    let id = &d.config.id;
    let step = |check, verdict, text: String, facts: Vec<String>| Step {
        check,
        directory: Some(id.clone()),
        verdict,
        text,
        facts,
    };
    let mut steps = Vec::new();
    let last = last_apply_step(facts, d, p);
    let (plan, live, committed) = match &d.read {
        DirectoryRead::Planned { plan, live } => (*plan, *live, None),
        DirectoryRead::Committed { plan, at, reports } => (*plan, &[][..], Some((*at, *reports))),
        DirectoryRead::Failed(why) => {
            let why = facts.pii.message(why, None);
            steps.push(step(
                Check::Plan,
                Mark::Stop,
                format!("`{id}` could not be planned: {why}"),
                Vec::new(),
            ));
            steps.extend(last.map(|(s, _)| s));
            return (Verdict::NotPlanned, format!("`{id}` could not be read or planned: {why}."), steps);
        }
        DirectoryRead::NotRead => {
            steps.push(step(
                Check::Plan,
                Mark::Note,
                format!("`{id}` was not read (--offline): no plan row"),
                Vec::new(),
            ));
            let failed = last.as_ref().and_then(|(_, f)| f.clone());
            steps.extend(last.map(|(s, _)| s));
            let (verdict, answer) = match failed {
                Some(why) => {
                    (Verdict::FailedLastApply, format!("the last apply to `{id}` failed for them: {why}."))
                }
                None => (
                    Verdict::NotPlanned,
                    format!("`{id}` was not read (--offline): run without --offline for its plan."),
                ),
            };
            return (verdict, answer, steps);
        }
        DirectoryRead::Off => {
            steps.push(step(Check::Plan, Mark::Stop, format!("`{id}` is in mode off"), Vec::new()));
            return (
                Verdict::NotPlanned,
                format!("`{id}` is in mode off: nothing is planned for it."),
                steps,
            );
        }
    };
    // A committed plan names people as its policy does: the person's key masked (or
    // hashed) the same way, its tag perhaps lengthened where two would read alike.
    let ours = |key: &str| match committed {
        None => key == p.key,
        Some((_, reports)) => {
            let masked = reports.key(&p.key);
            key == p.key || key == masked || key.starts_with(&masked)
        }
    };
    let Some(row) = plan.rows.iter().find(|r| r.person.as_ref().is_some_and(|v| ours(&v.key))) else {
        let (text, answer) = match committed {
            Some((at, _)) => {
                let when = at
                    .and_then(|t| jiff::Timestamp::from_second(t).ok())
                    .map(|t| format!(", committed {t}"))
                    .unwrap_or_default();
                (
                    format!(
                        "the last committed plan of `{id}` (plan {}{when}) has no row for them: it lists no entry that was up to date",
                        plan.id
                    ),
                    format!(
                        "the last committed plan of `{id}` (plan {}) has no row for them: their entry was up to date then, or the plan made none for them (--offline reads no directory).",
                        plan.id
                    ),
                )
            }
            None => (
                format!("the plan of `{id}` has no row for them"),
                format!("the plan of `{id}` has no row for them."),
            ),
        };
        steps.push(step(Check::Plan, Mark::Note, text, Vec::new()));
        steps.extend(last.map(|(s, _)| s));
        return (Verdict::NotPlanned, answer, steps);
    };
    let entry = row.entry.as_deref().and_then(|e| live.iter().find(|x| x.id == e));
    steps.push(match_step(facts, d, p, row));
    let (verdict, answer) = classify(facts, d, p, row, plan, entry);
    // A committed plan that the last apply applied: its writes for the person are done,
    // unless the apply says they failed.
    let (verdict, answer) = match facts.last.directories.get(id) {
        Some(last)
            if committed.is_some()
                && last.plan == plan.id
                && row.action.writes()
                && last.of_person(&p.key).is_none() =>
        {
            let done = match row.action {
                Action::Create => "created in",
                Action::Update => "updated in",
                Action::Disable => "disabled in",
                _ => "deleted from",
            };
            let verdict = if matches!(row.action, Action::Create | Action::Update) {
                Verdict::InSync
            } else {
                Verdict::LeaverDone
            };
            (verdict, format!("{done} `{id}` by the apply of {} (plan {}).", last.at, plan.id))
        }
        _ => (verdict, answer),
    };
    let plan_mark = match verdict {
        Verdict::InSync | Verdict::LeaverDone => Mark::Ok,
        Verdict::Create | Verdict::Update => Mark::Note,
        _ => Mark::Stop,
    };
    let mut reasons: Vec<String> = row.reasons.iter().map(|r| r.to_string()).collect();
    reasons.extend(
        row.warnings.iter().map(|w| format!("warning: {}", facts.pii.message(w, row.entry.as_deref()))),
    );
    if let Some(due) = &row.due {
        reasons.push(format!("on {}: {} ({})", due.on, due.action.as_str(), due.why));
    }
    let from = match committed {
        Some((at, _)) => format!(
            " (the last committed plan, as of {}{}; --offline)",
            plan.as_of,
            at.and_then(|t| jiff::Timestamp::from_second(t).ok())
                .map(|t| format!(", committed {t}"))
                .unwrap_or_default()
        ),
        None => String::new(),
    };
    steps.push(step(
        Check::Plan,
        plan_mark,
        format!("{}: {}{from}", row.action.as_str(), plan_state(plan, d.config)),
        reasons,
    ));
    steps.push(fields_step(facts, d, p, row, entry));
    let (verdict, answer) = match last {
        Some((s, failed)) => {
            steps.push(s);
            match failed {
                Some(why) if row.action.writes() => (
                    Verdict::FailedLastApply,
                    format!(
                        "the last apply to `{id}` failed for them ({why}); the next apply tries again: {answer}"
                    ),
                ),
                _ => (verdict, answer),
            }
        }
        None => (verdict, answer),
    };
    (verdict, answer, steps)
}

/// Whether the plan will be applied, in words.
pub(super) fn plan_state(plan: &Plan, d: &DirectoryConfig) -> String {
    let status = match plan.status {
        PlanStatus::Blocked => {
            format!("the plan is blocked by the safety limits ({})", plan.blocked_by.join("; "))
        }
        PlanStatus::Failed => "the plan failed".into(),
        PlanStatus::Ready | PlanStatus::NoChanges => format!("plan {}", plan.id),
    };
    format!("{status}; `{}` is in mode {}", d.id, d.mode.as_str())
}

/// The verdict and answer of a directory's row.
pub(super) fn classify(
    facts: &Facts<'_>,
    d: &DirectoryFacts<'_>,
    p: &MergedPerson,
    row: &Row,
    plan: &Plan,
    entry: Option<&Entry>,
) -> (Verdict, String) {
    let id = &d.config.id;
    let today = facts.now.to_zoned(facts.config.workspace.timezone.clone()).date();
    let hidden = crate::plan::overrides_naming(&facts.config.overrides, p, today)
        .find(|o| matches!(o.kind, OverrideKind::Hide { .. }));
    let kept_disabled = crate::plan::overrides_naming(&facts.config.overrides, p, today)
        .find(|o| o.kind == OverrideKind::KeepDisabled);
    let last_reason = row.reasons.last().map(|r| r.to_string()).unwrap_or_default();
    let excluded = Some(decision_in(facts, d.config, p)).filter(|e| !e.is_included());
    let when = || when_applied(plan, d.config);
    match row.action {
        Action::Skip => {
            if let Some(r) = row.reasons.iter().find(|r| r.starts_with("ambiguous")) {
                (Verdict::Ambiguous, format!("not synced to `{id}`: {r}."))
            } else if let Some(r) = row.reasons.iter().find(|r| r.starts_with("held:")) {
                (Verdict::SkippedRow, format!("their entry in `{id}` is left as it is: {r}."))
            } else if let Some(o) = hidden {
                (
                    Verdict::Hidden,
                    format!("hidden from `{id}` by {}; the entry is left as it is.", o.describe()),
                )
            } else {
                (Verdict::Skipped, format!("skipped in `{id}`: {last_reason}."))
            }
        }
        Action::Create => match (&row.due, row.enabled) {
            (Some(due), Some(e)) if !e.after => (
                Verdict::Create,
                format!(
                    "will be created in `{id}`{}, disabled (pre-provisioned), and enabled on {} ({}).",
                    when(),
                    due.on,
                    due.why
                ),
            ),
            (None, Some(e)) if !e.after => {
                let why = kept_disabled.map_or_else(|| last_reason.clone(), |o| o.describe());
                (Verdict::Create, format!("will be created in `{id}`{}, disabled ({why}).", when()))
            }
            _ => (Verdict::Create, format!("will be created in `{id}`{} ({last_reason}).", when())),
        },
        Action::Update => {
            let fields: Vec<&str> = row.changes.iter().map(|c| c.attribute.as_str()).collect();
            let what = if fields.is_empty() { "enabled".to_owned() } else { fields.join(", ") };
            (Verdict::Update, format!("will be updated in `{id}`{}: {what}.", when()))
        }
        Action::Disable => {
            let then =
                row.due.as_ref().map(|d| format!("; deleted on {} ({})", d.on, d.why)).unwrap_or_default();
            (Verdict::Disable, format!("will be disabled in `{id}`{}: {}{then}.", when(), leaver_reason(row)))
        }
        Action::Delete => {
            (Verdict::Delete, format!("will be deleted from `{id}`{}: {}.", when(), leaver_reason(row)))
        }
        Action::Noop => match (&row.entry, &row.due) {
            (None, _) if hidden.is_some() => {
                let o = hidden.map(|o| o.describe()).unwrap_or_default();
                (Verdict::Hidden, format!("no entry in `{id}`: hidden by {o}."))
            }
            (None, _) if last_reason.starts_with("left") => {
                (Verdict::LeftWithoutEntry, format!("no entry in `{id}`: {last_reason}."))
            }
            (None, _) if excluded.is_some() => {
                let e = excluded.map(|e| e.to_string()).unwrap_or_default();
                (Verdict::FilteredOut, format!("no entry in `{id}`: {e}."))
            }
            (None, Some(due)) if due.action == Action::Create => {
                (Verdict::FutureJoiner, format!("will be created in `{id}` on {}, {}.", due.on, due.why))
            }
            // A committed plan's rows carry no due date: the reason says it.
            (None, None) if last_reason.starts_with("future joiner") => {
                (Verdict::FutureJoiner, format!("no entry in `{id}` yet: {last_reason}."))
            }
            (None, _) if last_reason.starts_with("pending joiner without a start date") => {
                (Verdict::PendingWithoutStartDate, format!("no entry in `{id}` yet: {last_reason}."))
            }
            (None, _) => (Verdict::Skipped, format!("no entry in `{id}`: {last_reason}.")),
            (Some(_), _) if row.reasons.iter().any(|r| r.contains("not managed by hrsync")) => {
                (Verdict::NotManaged, format!("their entry in `{id}` is left alone: {last_reason}."))
            }
            (Some(_), Some(due)) => (
                Verdict::LeaverWaiting,
                format!(
                    "a leaver: their entry in `{id}` stays as it is until {}, when it is {} ({}).",
                    due.on,
                    past(due.action),
                    due.why
                ),
            ),
            (Some(_), None)
                if row.reasons.iter().any(|r| r.starts_with("left") || r.starts_with("out of scope")) =>
            {
                (Verdict::LeaverDone, format!("a leaver: their entry in `{id}` is {last_reason}."))
            }
            (Some(_), None) if hidden.is_some() => {
                let o = hidden.map(|o| o.describe()).unwrap_or_default();
                (Verdict::Hidden, format!("their entry in `{id}` is left as it is: hidden by {o}."))
            }
            (Some(_), None) if kept_disabled.is_some() => {
                let o = kept_disabled.map(|o| o.describe()).unwrap_or_default();
                (Verdict::KeptDisabled, format!("their entry in `{id}` stays disabled: {o}."))
            }
            (Some(_), None) => {
                let kept = import_once_differences(d.config, p, entry);
                let leaves = leaving_later(d.config, p, facts).map(|l| format!(" {l}")).unwrap_or_default();
                if kept.is_empty() {
                    (Verdict::InSync, format!("in step in `{id}`: the entry matches HR.{leaves}"))
                } else {
                    (
                        Verdict::InSync,
                        format!(
                            "in step in `{id}`; {} import-once: HR changes are not applied after creation.{leaves}",
                            kept.join(", ")
                        ),
                    )
                }
            }
        },
    }
}

/// For someone whose end date is still ahead, when their entry leaves: "Their end date
/// is 2026-12-05: the entry is disabled on 2026-12-06 …". An override that delays the
/// leaver is named in the overrides step and moves the day.
pub(super) fn leaving_later(d: &DirectoryConfig, p: &MergedPerson, facts: &Facts<'_>) -> Option<String> {
    use crate::config::LeaverAction;
    use jiff::ToSpan as _;
    let end = p.person.end_date?;
    let (zone, _) = crate::plan::time_zone_of(facts.config, &p.person);
    if end < facts.now.to_zoned(zone).date() || d.leavers.action == LeaverAction::Ignore {
        return None;
    }
    let gone = end.tomorrow().ok()?;
    let on = gone.checked_add((d.leavers.grace_days as i64).days()).ok()?;
    let what = if d.leavers.action == LeaverAction::Delete { "deleted" } else { "disabled" };
    Some(format!(
        "Their end date is {end}: the entry is {what} on {on}, after a grace period of {} days (leavers.grace_days).",
        d.leavers.grace_days
    ))
}

/// The leaver reason of a row, for its answer.
pub(super) fn leaver_reason(row: &Row) -> String {
    row.reasons
        .iter()
        .find(|r| r.starts_with("left") || r.starts_with("out of scope") || r.starts_with("override"))
        .map(|r| r.to_string())
        .unwrap_or_else(|| row.reasons.last().map(|r| r.to_string()).unwrap_or_default())
}

/// An action as what the entry becomes.
pub(super) fn past(action: Action) -> &'static str {
    match action {
        Action::Create => "created",
        Action::Update => "enabled",
        Action::Disable => "disabled",
        Action::Delete => "deleted",
        Action::Skip | Action::Noop => "left as it is",
    }
}

/// The import-once fields whose HR value differs from the entry's: "title is".
pub(super) fn import_once_differences(
    d: &DirectoryConfig,
    p: &MergedPerson,
    entry: Option<&Entry>,
) -> Vec<String> {
    let Some(entry) = entry else { return Vec::new() };
    d.fields
        .iter()
        .filter(|f| f.mode == FieldMode::ImportOnce)
        .filter(|f| {
            hr_value(f, p)
                .is_some_and(|hr| !same_text(f.compare, Some(&hr), entry.attributes.get(&f.attribute)))
        })
        .map(|f| format!("`{}` is", f.attribute))
        .collect()
}
