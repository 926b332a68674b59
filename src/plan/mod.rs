//! Plans.

/// Whether `s` looks like a plan id: 32 lowercase hex digits.
pub fn is_plan_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
