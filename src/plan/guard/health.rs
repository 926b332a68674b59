//! The source-health guard: whether a read can be trusted to say who works here. A read
//! that may be incomplete, that returned no one, or that skipped more than
//! `max_skipped_share` of its rows (people, employments and org units) is unhealthy; one that shrank below
//! `min_source_share` of the last good read is held until approved.
//! Pure: the run hands in the counts. A read that cannot be trusted makes the source
//! [`Unhealthy`](crate::plan::SourceHealth::Unhealthy): its last good read stands in and
//! the plan fails. A read that is whole but shrank makes it
//! [`Shrunk`](crate::plan::SourceHealth::Shrunk): the plan is made from it, to show what
//! the drop means, and blocked until its id is approved.

/// How a plan's reasons name an unhealthy source `id`: `source `id` is unhealthy`.
/// Whoever reads a job result (notifications) finds with [`names_unhealthy`] which
/// sources a failed plan blames.
pub fn unhealthy_words(id: &str) -> String {
    format!("source `{id}` is unhealthy")
}

/// Whether a plan's `reason` (its `blocked_by`, joined) blames the unhealthy source `id`.
pub fn names_unhealthy(reason: &str, id: &str) -> bool {
    reason.contains(&unhealthy_words(id))
}

/// What a read gave, as health sees it.
#[derive(Clone, Copy, Debug)]
pub struct Read<'a> {
    /// Why the source itself says the read may be incomplete.
    pub incomplete: Option<&'a str>,
    /// People in the read (after a delta was merged in).
    pub people: usize,
    /// People in the last good read.
    pub last_good_people: Option<usize>,
    /// `safety.min_source_share`.
    pub min_share: f64,
    /// Employments and org units in the read.
    pub other_rows: usize,
    /// Rows of any kind skipped in the read.
    pub skipped_rows: usize,
    /// `safety.max_skipped_share`.
    pub max_skipped_share: f64,
}

/// What is wrong with a read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It cannot be trusted at all (incomplete, empty, too many skipped rows): the
    /// last good read stands in for it and nothing is written.
    Unhealthy(String),
    /// It is whole but shrank below `min_source_share` of the last good read: it may be
    /// a real drop, so the plan is made from it and blocked until its id is approved.
    Shrunk(String),
}

/// What is wrong with the read, or `None` when it can be trusted.
pub fn assess(read: &Read<'_>) -> Option<Verdict> {
    match judge(read) {
        Some(reason) => Some(Verdict::Unhealthy(reason)),
        None => shrunk(read).map(Verdict::Shrunk),
    }
}

/// Why the read shrank below `min_source_share` of the last good read, if it did.
fn shrunk(read: &Read<'_>) -> Option<String> {
    let Read { people, last_good_people, min_share: share, .. } = *read;
    last_good_people.filter(|n| (people as f64) < share * (*n as f64)).map(|n| {
        format!(
            "returned {people} people, fewer than {:.0} % of the last good read ({n}); min_source_share is {share}",
            share * 100.0
        )
    })
}

/// Why the read cannot be trusted at all, or `None`.
fn judge(read: &Read<'_>) -> Option<String> {
    let Read { incomplete, people, last_good_people, other_rows, skipped_rows, max_skipped_share, .. } =
        *read;
    let rows = people + other_rows + skipped_rows;
    if let Some(why) = incomplete {
        Some(format!("the read may be incomplete: {why}"))
    } else if people == 0 {
        Some(match last_good_people {
            Some(n) => format!("returned no people (the last good read had {n})"),
            None => "returned no people".to_owned(),
        })
    } else if skipped_rows as f64 > max_skipped_share * rows as f64 {
        Some(format!(
            "skipped {skipped_rows} of {rows} rows ({:.1} %), more than max_skipped_share {max_skipped_share}",
            skipped_rows as f64 * 100.0 / rows as f64
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(people: usize, last: Option<usize>) -> Read<'static> {
        Read {
            incomplete: None,
            people,
            last_good_people: last,
            min_share: 0.9,
            other_rows: 0,
            skipped_rows: 0,
            max_skipped_share: 0.05,
        }
    }

    fn unhealthy(reason: &str) -> Option<Verdict> {
        Some(Verdict::Unhealthy(reason.to_owned()))
    }

    #[test]
    fn empty_shrunk_and_incomplete_reads_are_judged() {
        assert_eq!(assess(&read(0, None)), unhealthy("returned no people"));
        assert_eq!(assess(&read(0, Some(5))), unhealthy("returned no people (the last good read had 5)"));
        match assess(&read(89, Some(100))) {
            Some(Verdict::Shrunk(reason)) => assert!(
                reason.starts_with("returned 89 people, fewer than 90 % of the last good read (100)"),
                "{reason}"
            ),
            other => panic!("a shrink, approvable: {other:?}"),
        }
        assert_eq!(assess(&read(90, Some(100))), None, "exactly the share is healthy");
        assert_eq!(assess(&read(3, None)), None, "a first read has nothing to shrink from");
        let cut = Read { incomplete: Some("the total said 10"), ..read(100, Some(100)) };
        assert_eq!(assess(&cut), unhealthy("the read may be incomplete: the total said 10"));
        let skipping = Read { skipped_rows: 6, ..read(94, None) };
        assert_eq!(
            assess(&skipping),
            unhealthy("skipped 6 of 100 rows (6.0 %), more than max_skipped_share 0.05"),
            "on a first read too"
        );
        assert_eq!(assess(&Read { skipped_rows: 5, ..read(95, None) }), None, "exactly the share is healthy");
        let both = Read { incomplete: Some("cut"), ..read(10, Some(100)) };
        assert!(
            matches!(assess(&both), Some(Verdict::Unhealthy(_))),
            "an untrusted read is never approvable"
        );
    }

    #[test]
    fn a_reason_names_only_the_unhealthy_source_it_blames() {
        let reason = format!("{}: returned no people", unhealthy_words("germany"));
        assert!(names_unhealthy(&reason, "germany"));
        assert!(!names_unhealthy(&reason, "german"));
        assert!(!names_unhealthy(&reason, "france"));
    }
}
