//! The source-health guard: whether a read can be trusted to say who works here. A read
//! that may be incomplete, that returned no one, that skipped more than
//! `max_skipped_share` of its people's rows, or that shrank below `min_source_share` of
//! the last good read is unhealthy: the plan then disables and deletes no one on its word.
//! Pure: the run hands in the counts, and marks the source
//! [`Unhealthy`](crate::plan::SourceHealth::Unhealthy) with the reason.

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
    /// Rows of people skipped in the read.
    pub skipped_people: usize,
    /// `safety.max_skipped_share`.
    pub max_skipped_share: f64,
}

/// Why the read is unhealthy, or `None` when it can be trusted.
pub fn judge(read: &Read<'_>) -> Option<String> {
    let Read { incomplete, people, last_good_people, min_share: share, skipped_people, max_skipped_share } =
        *read;
    let rows = people + skipped_people;
    if let Some(why) = incomplete {
        Some(format!("the read may be incomplete: {why}"))
    } else if people == 0 {
        Some(match last_good_people {
            Some(n) => format!("returned no people (the last good read had {n})"),
            None => "returned no people".to_owned(),
        })
    } else if skipped_people as f64 > max_skipped_share * rows as f64 {
        Some(format!(
            "skipped {skipped_people} of {rows} rows of people ({:.1} %), more than max_skipped_share {max_skipped_share}",
            skipped_people as f64 * 100.0 / rows as f64
        ))
    } else {
        last_good_people.filter(|n| (people as f64) < share * (*n as f64)).map(|n| {
            format!(
                "returned {people} people, fewer than {:.0} % of the last good read ({n}); min_source_share is {share}",
                share * 100.0
            )
        })
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
            skipped_people: 0,
            max_skipped_share: 0.05,
        }
    }

    #[test]
    fn empty_shrunk_and_incomplete_reads_are_unhealthy() {
        assert_eq!(judge(&read(0, None)).as_deref(), Some("returned no people"));
        assert_eq!(
            judge(&read(0, Some(5))).as_deref(),
            Some("returned no people (the last good read had 5)")
        );
        let shrunk = judge(&read(89, Some(100))).expect("unhealthy");
        assert!(
            shrunk.starts_with("returned 89 people, fewer than 90 % of the last good read (100)"),
            "{shrunk}"
        );
        assert_eq!(judge(&read(90, Some(100))), None, "exactly the share is healthy");
        assert_eq!(judge(&read(3, None)), None, "a first read has nothing to shrink from");
        let cut = Read { incomplete: Some("the total said 10"), ..read(100, Some(100)) };
        assert_eq!(judge(&cut).as_deref(), Some("the read may be incomplete: the total said 10"));
        let skipping = Read { skipped_people: 6, ..read(94, None) };
        assert_eq!(
            judge(&skipping).as_deref(),
            Some("skipped 6 of 100 rows of people (6.0 %), more than max_skipped_share 0.05"),
            "on a first read too"
        );
        assert_eq!(
            judge(&Read { skipped_people: 5, ..read(95, None) }),
            None,
            "exactly the share is healthy"
        );
    }
}
