//! Map people to attribute values: a field's candidate templates, rendered over a
//! merged person (DESIGN §4.4).
//!
//! A field's value is that of its first candidate that renders something; a `unique`
//! field's is the first rendering, counter included, that is still free. This module
//! owns that rule and which sources a value comes from. It must not know about plans
//! or read a directory: whether a value is free is the caller's to say.

use crate::model::SourceId;
use crate::model::template::Template;
use crate::transform::merge::MergedPerson;

/// What the candidates of a `unique` field give a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Free {
    /// No candidate renders a value.
    Empty,
    /// The first free value, and the sources of the fields it was rendered from.
    Value(String, Vec<SourceId>),
    /// Every value the candidates render is taken.
    Taken,
}

/// The first candidate's value for `person`, and the sources of the fields it was
/// rendered from; `None` when no candidate renders anything.
pub fn first_value(candidates: &[Template], person: &MergedPerson) -> Option<(String, Vec<SourceId>)> {
    let (value, t) = candidates.iter().find_map(|t| t.render(person, None).map(|v| (v, t)))?;
    Some((value, person.owners_of(&t.fields())))
}

/// [`first_value`] rendered into `buf`, so that it can be compared with what a
/// directory holds without allocating: the value and the candidate that gave it.
/// The sources are left to the caller, to be looked up only for a value that differs.
pub fn first_value_in<'b, 't>(
    candidates: &'t [Template],
    person: &MergedPerson,
    buf: &'b mut String,
) -> Option<(&'b str, &'t Template)> {
    let used = candidates.iter().find(|t| {
        buf.clear();
        t.render_into(person, None, buf)
    })?;
    Some((buf.trim(), used))
}

/// Every value a `unique` field's candidates render for `person`, in order, with the
/// candidate that gave it: a candidate with a counter is rendered with `n` from 2 to
/// 99, and passed over from the first `n` it renders nothing for. At most
/// `candidates × 98` renderings, made one at a time as the caller asks for them.
pub fn candidate_values<'t>(
    candidates: &'t [Template],
    person: &MergedPerson,
) -> impl Iterator<Item = (String, &'t Template)> {
    candidates.iter().flat_map(move |t| {
        let numbers: Box<dyn Iterator<Item = Option<u32>>> =
            if t.uses_counter() { Box::new((2..=99).map(Some)) } else { Box::new(std::iter::once(None)) };
        numbers.map(move |n| t.render(person, n)).take_while(Option::is_some).flatten().map(move |v| (v, t))
    })
}

/// The first value of a `unique` field's candidates that `claim` takes: `claim` says
/// whether a value is free, and marks it taken if it is (see [`candidate_values`] for
/// the order). `values` is left at the ones after it, for the caller to look further.
pub fn first_free<'t>(
    values: &mut impl Iterator<Item = (String, &'t Template)>,
    person: &MergedPerson,
    mut claim: impl FnMut(&str) -> bool,
) -> Free {
    let mut rendered_any = false;
    for (value, t) in values {
        rendered_any = true;
        if claim(&value) {
            return Free::Value(value, person.owners_of(&t.fields()));
        }
    }
    if rendered_any { Free::Taken } else { Free::Empty }
}
